"""Page-test helpers of the sharing tests: the web tests' real login form."""

from tests.web.conftest import csrf_of, login, signed_in  # noqa: F401
