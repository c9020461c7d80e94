"""The collection fixtures serve the zone tests too."""

from tests.collect.conftest import log_resource, people  # noqa: F401
