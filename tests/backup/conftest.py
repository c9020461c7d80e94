"""Every backup test runs on the local zone and on the S3 zone (issue 14)."""

from tests.collect.conftest import _on_each_zone_store  # noqa: F401
