"""Helpers for the documents people print (issue 17): the QR code that leads back to the
platform's check of a printed 审批单 or certificate."""

from __future__ import annotations

from markupsafe import Markup


def qr_svg(url: str) -> Markup:
    """`url` as a QR code in inline SVG (segno), medium error correction so a creased paper scans."""
    import segno

    return Markup(segno.make(url, error="m").svg_inline(scale=3, title=url))
