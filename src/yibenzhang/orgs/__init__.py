"""Regions, organizations, users, roles and API tokens."""
