"""The types of what a request may carry, bounded at the edge (issue 20).

Every id in a path, query or body is a positive integer the store's keys can hold (1 … 2^31−1):
a larger number reached the driver as an OverflowError (SQLite), a numeric the engine cannot hold
(DuckDB) or an out-of-range error (PostgreSQL) — a 500 where the caller made the mistake.
Declared here once; routes and request models use these names, so a bad value is a 422
problem+json naming the parameter before any service runs. Pages that parse their own query
strings and forms use `parse_id` / `parse_int`, which never raise.
"""

from __future__ import annotations

from typing import Annotated

from annotated_types import Ge, Le, MaxLen
from starlette.convertors import Convertor, register_url_convertor

INT64_MAX = 2**63 - 1
INT32_MAX = 2**31 - 1
# The largest integer every JSON reader holds exactly (I-JSON, RFC 7493 §2.2: beyond 2^53 a
# JavaScript client or a float-based parser silently rounds, and so does the OpenAPI document's
# own `maximum`).
JSON_INT_MAX = 2**53 - 1
# Every table's key is an INTEGER: a serial int4 on PostgreSQL, so no id beyond 2^31−1 can exist
# there, and PostgreSQL refuses to even compare a larger number with the key (SQLAlchemy binds it
# as ::INTEGER). Bounding ids here makes both backends answer alike, at the edge.
ID_MAX = INT32_MAX
# Longest decimal text of an int64; anything longer is out of range without parsing it (Python
# refuses to parse more than 4,300 digits at all, with a ValueError).
INT64_DIGITS = len(str(INT64_MAX))

Id = Annotated[int, Ge(1), Le(ID_MAX)]
"""The id of a stored thing: 1 … 2^31−1."""

Offset = Annotated[int, Ge(0), Le(JSON_INT_MAX)]
"""A row offset or any other non-negative count a caller may pass."""

Int = Annotated[int, Ge(-JSON_INT_MAX), Le(JSON_INT_MAX)]
"""Any integer the store can hold (a service checks its meaning)."""

Count = Annotated[int, Ge(0), Le(INT32_MAX)]
"""A small non-negative quantity a caller may pass (days, page sizes)."""

CURSOR_MAX = 64
Cursor = Annotated[str, MaxLen(CURSOR_MAX)]
"""A keyset cursor as text: parsed and bounded by the service that issued it."""

# Text a caller may send, capped before any service runs (issue 20): a longer value is a 422
# problem+json naming the parameter. The caps are ceilings for the edge, above every service's
# own limit (TEXT_MAX of 2,000 in share, open, operate; SQL_MAX of 20,000 in the sandbox), so a
# service's more specific message still answers a value between the two.
KEY_MAX = 200
TEXT_MAX = 4000
LONG_TEXT_MAX = 100_000

Key = Annotated[str, MaxLen(KEY_MAX)]
"""A word in a path, a query or a list: a code, a name, a state, a search phrase."""

Text = Annotated[str, MaxLen(TEXT_MAX)]
"""A field of a request body: a title, a reason, a description, a note."""

LongText = Annotated[str, MaxLen(LONG_TEXT_MAX)]
"""A body field that holds a document: SQL, a column mapping, an abstract, duties, list content."""


def parse_int(text: str | None, lo: int = 1, hi: int = INT64_MAX) -> int | None:
    """An integer within [lo, hi] from a query string or form field, else None (never raises)."""
    raw = (text or "").strip()
    digits = raw[1:] if raw[:1] in "+-" else raw
    if not digits or not digits.isascii() or not digits.isdigit() or len(digits) > INT64_DIGITS:
        return None
    value = int(raw)
    return value if lo <= value <= hi else None


def parse_id(text: str | None) -> int | None:
    """An id (as `Id`) from free text, else None."""
    return parse_int(text, 1, ID_MAX)


class IdConvertor(Convertor[int]):
    """`{name:id}` in a route path: like Starlette's `:int` (which disambiguates /share/usage from
    /share/{id}), but at most 16 digits, so a longer number matches no route (404) instead of
    reaching `int()` inside the router (more than 4,300 digits raise there: a 500). The
    parameter's `Id` type then bounds the value itself."""

    regex = "[0-9]{1,16}"

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        return str(value)


register_url_convertor("id", IdConvertor())
