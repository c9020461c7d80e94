"""The CAS server's people: YBZ_CAS_TEST_USERS = {username: {"password": ..., "attributes": {...}}}."""

import json
import os

from cas_server.auth import AuthUser

USERS = json.loads(os.environ.get("YBZ_CAS_TEST_USERS") or "{}")


class JsonAuthUser(AuthUser):
    def test_password(self, password):
        return self.username in USERS and USERS[self.username]["password"] == password

    def attributs(self):
        return dict(USERS.get(self.username, {}).get("attributes", {}))
