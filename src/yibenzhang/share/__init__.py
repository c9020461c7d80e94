"""Sharing between public bodies (DOMAIN §5): requests, sealed approvals, grants, the data service."""
