"""Helpers of the page tests: sign in through the real login form."""

from __future__ import annotations

import re

import pytest

from tests.factories import PASSWORD

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "page has no CSRF field"
    return found.group(1)


def login(client, username: str, password: str = PASSWORD):
    page = client.get("/login")
    assert page.status_code == 200
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": csrf_of(page.text), "next": "/console"},
                       follow_redirects=False)


@pytest.fixture
def signed_in(client):
    """Sign `client` in as a user; returns that user's CSRF token."""

    def _sign_in(username: str) -> str:
        response = login(client, username)
        assert response.status_code == 303, response.text
        return csrf_of(client.get("/console").text)

    return _sign_in
