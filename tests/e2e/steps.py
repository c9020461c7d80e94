"""Steps the browser tests share: signing in and out, the compliance sign-off, a screenshot's check."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

from tests.factories import PASSWORD


def fill_login(page, username: str) -> None:
    """Fill and send the login form the page shows."""
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("form.form button[type=submit]")


def sign_in(page, username: str, next_path: str = "/console") -> None:
    """Open the login page for `next_path`, sign in, and wait until it is reached."""
    page.goto(f"/login?next={next_path}")
    fill_login(page, username)
    page.wait_for_url(f"**{next_path}*")


def sign_out(page) -> None:
    """The header's sign-out button, back to the portal."""
    page.click("header .who button")
    page.wait_for_url("**/")


def sign_off_compliance(page, product_id: int) -> None:
    """A reviewer passes the four checks of a product's compliance review and signs it off."""
    page.goto(f"/login?next=/console/products/{product_id}")
    fill_login(page, "reviewer")
    page.wait_for_url(f"**/console/products/{product_id}")
    for kind in (1, 2, 5, 7):
        page.select_option(f"#f-verdict-{kind}", "通过")
        page.fill(f"#f-note-{kind}", "经核查符合要求")
    page.click("#signoff-form button[type=submit]")
    page.wait_for_url("**done=signoff")


def png_is_not_blank(path: Path) -> bool:
    """Decode the PNG's image data (stdlib only) and look for more than a handful of byte values."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if kind == b"IDAT":
            idat += data[pos + 8:pos + 8 + length]
        pos += 12 + length
    return len(set(zlib.decompress(idat))) > 16
