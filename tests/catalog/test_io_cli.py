"""`ybz catalog import/export/template`: exit codes and --json output."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from tests.catalog.io_helpers import fill_template, item_row, resource_row
from tests.factories import published
from yibenzhang.cli import app

runner = CliRunner()


def test_cli_import_export_and_template(world, tmp_path):
    published(world, name="常住人口信息")
    good = tmp_path / "good.xlsx"
    good.write_bytes(fill_template([resource_row(world, 1, "新资源")], [item_row(1, "字段甲")]))

    result = runner.invoke(app, ["catalog", "import", str(good), "--as", "police_steward", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["created_count"] == 1 and report["created"][0]["row"] == 2

    result = runner.invoke(app, ["catalog", "import", str(good), "--as", "police_steward"])
    assert result.exit_code == 0 and "导入结果" in result.stdout and "新资源" in result.stdout

    result = runner.invoke(app, ["catalog", "export", "--format", "json", "--as", "police_steward"])
    assert result.exit_code == 0
    assert {r["name"] for r in json.loads(result.stdout)} == {"常住人口信息", "新资源"}

    out = tmp_path / "out.ttl"
    result = runner.invoke(app, ["catalog", "export", "--format", "dcat-ttl", "--output", str(out), "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout)["bytes"] == out.stat().st_size
    assert out.read_bytes().startswith(b"@prefix")

    tpl = tmp_path / "template.xlsx"
    result = runner.invoke(app, ["catalog", "template", "--output", str(tpl)])
    assert result.exit_code == 0 and tpl.read_bytes().startswith(b"PK")


def test_cli_rejected_import_exits_2_with_row_numbers(world, tmp_path):
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(fill_template(
        [resource_row(world, 1, "好的"), resource_row(world, 2, "坏的", 更新周期="每两天")],
        [item_row(1, "字段甲"), item_row(2, "字段乙")]))

    result = runner.invoke(app, ["catalog", "import", str(bad), "--as", "police_steward", "--json"])
    assert result.exit_code == 2
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "import_rejected"
    assert [(e["sheet"], e["row"], e["code"]) for e in error["errors"]] == [("信息资源", 3, "unknown_value")]

    result = runner.invoke(app, ["catalog", "import", str(bad), "--as", "police_steward"])
    assert result.exit_code == 2 and "import_rejected" in result.output and "每两天" in result.output

    result = runner.invoke(app, ["catalog", "import", str(bad), "--as", "police_steward", "--partial", "--json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["skipped"][0]["row"] == 3

    junk = tmp_path / "junk.csv"
    junk.write_text("just,some\ntext,here\n")
    result = runner.invoke(app, ["catalog", "import", str(junk), "--json"])
    assert result.exit_code == 2 and json.loads(result.stdout)["error"]["code"] == "columns_missing"

    result = runner.invoke(app, ["catalog", "export", "--format", "xlsx"])
    assert result.exit_code == 2
