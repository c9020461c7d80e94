"""Page-test helpers for the calendar tests."""

from tests.web.conftest import csrf_of, login, signed_in  # noqa: F401
