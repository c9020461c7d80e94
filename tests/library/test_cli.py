"""`ybz library …`: list, fuse, conflicts (counts, a source's list, sending them back) and the
一人一档 look-up, as the commands a bureau's engineer runs, with their refusals (exit 2)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from tests.library.conftest import A
from tests.library.test_record import granted  # noqa: F401  (the fixture)
from yibenzhang.cli import app


@pytest.fixture
def db(sqlite_db):
    return sqlite_db


def _ybz(*args: str):
    return CliRunner().invoke(app, ["library", *args], catch_exceptions=False)


def _out(result):
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_library_commands(granted) -> None:  # noqa: F811
    lib, grant_id = granted
    code = str(lib.library)
    listed = _out(_ybz("list", "--json"))
    assert [x["id"] for x in listed] == [lib.library]

    refused = _ybz("fuse", code, "--as", "consumer")
    assert refused.exit_code == 2 and "融合资源库" in refused.output
    fused = _out(_ybz("fuse", code, "--full", "--json"))
    # the planted conflicts (conftest.PLANTED): 张叁, a birth date, an address, a phone number
    assert fused["fused"] and fused["entities"] == 3 and fused["conflicts"] == 4 and fused["rejected"] == 2

    counts = _out(_ybz("conflicts", code, "--json"))
    live = {(r["source_resource_id"], r["item"]) for r in counts if r["conflicts"]}
    assert live == {(lib.sources[1], "姓名"), (lib.sources[2], "出生日期"), (lib.sources[2], "联系电话"),
                    (lib.sources[4], "户籍地址")}
    civil = _out(_ybz("conflicts", code, "--source", str(lib.sources[1]), "--json"))
    assert [c["item"] for c in civil] == ["姓名"]

    got = _out(_ybz("record", code, A, "--grant", str(grant_id), "--as", "consumer", "--json"))
    assert "张三" in json.dumps(got, ensure_ascii=False)
    bad = _ybz("record", code, "12345", "--grant", str(grant_id), "--as", "consumer")
    assert bad.exit_code == 2 and "key_format" in bad.output
    other = _ybz("record", code, A, "--grant", str(grant_id), "--as", "hospital_consumer")
    assert other.exit_code == 2 and "张三" not in other.output
