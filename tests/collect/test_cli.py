"""`ybz collect` through the real CLI (in-process, both backends): progress on stderr, a summary
on stdout, --json prints the IngestReport, exit 2 with zh+en on bad input, --map saved for the
next run, --confirm/--discard of held batches, --as checks the steward's permission."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from tests.collect.conftest import rows_csv
from yibenzhang.cli import app
from yibenzhang.collect.pipeline import IngestReport
from yibenzhang.zone import service as zone

GOOD = [f"人{i},1101011990030{i:05d},2023-01-0{1 + i % 9},{i},是,{1 + i % 5}" for i in range(40)]
BAD = ["坏一,110101199003099991,2023-13-45,1,是,1", "坏二,110101199003099992,2023-01-01,abc,是,1",
       "坏三,110101199003099993,2023-01-01,1,也许,1"]


def collect(*args: str):
    return CliRunner().invoke(app, ["collect", *args], catch_exceptions=False)


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_progress_on_stderr_and_summary_on_stdout(world, people, tmp_path):
    path = write(tmp_path, "p.csv", rows_csv(GOOD), "gb18030")
    out = collect(str(people), str(path), "--as", "police_steward")
    assert out.exit_code == 0, out.output
    assert "行 rows" in out.stderr and "MB/s" in out.stderr and "40" in out.stderr
    assert "行 rows" not in out.stdout  # stdout holds only the summary
    assert "rows_accepted" in out.stdout and "40" in out.stdout and "已发布" in out.stdout
    for value in ("人1", "110101199003000001"):  # row values never reach the terminal
        assert value not in out.stderr and value not in out.stdout


def test_json_prints_the_ingest_report(world, people, tmp_path):
    path = write(tmp_path, "j.csv", rows_csv(GOOD + BAD[:1]))
    out = collect(str(people), str(path), "--json")
    assert out.exit_code == 0, out.output
    report = json.loads(out.stdout)
    assert set(report) == set(IngestReport.__dataclass_fields__)
    assert (report["rows_read"], report["rows_accepted"], report["rows_rejected"]) == (41, 40, 1)
    assert report["status"] == "已发布" and report["mode"] == "更新" and report["batch_seq"] == 1
    assert report["reject_file"].endswith("/rejects.csv")


def test_bad_input_exits_2_with_chinese_and_english(world, people, tmp_path):
    good = rows_csv(GOOD[:2]).encode("gbk")
    bad = tmp_path / "bad.csv"
    bad.write_bytes(good + b"\xff\xfe,110101199003079999,2023-01-01,1,1,1\n")
    out = collect(str(people), str(bad))
    assert out.exit_code == 2
    assert "encoding_invalid" in out.stderr and f"字节偏移{len(good)}" in out.stderr
    assert f"byte offset {len(good)}" in out.stderr
    as_json = collect(str(people), str(bad), "--json")
    assert as_json.exit_code == 2
    assert json.loads(as_json.stdout)["error"]["code"] == "encoding_invalid"
    assert collect(str(people), str(tmp_path / "missing.csv")).exit_code == 2
    denied = collect(str(people), str(write(tmp_path, "ok.csv", rows_csv(GOOD))), "--as", "market_steward")
    assert denied.exit_code == 2
    with world.db.read() as s:
        assert zone.list_batches(s, world.actor("admin"), people) == []


def test_map_is_saved_for_the_next_run(world, people, tmp_path):
    path = write(tmp_path, "m.csv", "名字,身份证,备用\n张三,110101199003077777,x\n")
    refused = collect(str(people), str(path), "--json")
    assert refused.exit_code == 2 and json.loads(refused.stdout)["error"]["code"] == "mapping_invalid"
    out = collect(str(people), str(path), "--map", "名字=姓名", "--map", "身份证=公民身份号码", "--map", "备用=-",
                  "--json", "--as", "police_steward")
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["rows_accepted"] == 1
    again = collect(str(people), str(path), "--json")
    assert again.exit_code == 0 and json.loads(again.stdout)["rows_accepted"] == 1
    assert collect(str(people), str(path), "--map", "名字").exit_code == 2  # not 源列=信息项


def test_confirm_and_discard_held_batches(world, people, tmp_path):
    path = write(tmp_path, "h.csv", rows_csv(GOOD[:10] + BAD))
    held = json.loads(collect(str(people), str(path), "--json").stdout)
    assert held["status"] == "待确认"  # 3 of 13 rejected: above the hold rate
    denied = collect(str(people), "--confirm", str(held["batch_id"]), "--as", "market_steward")
    assert denied.exit_code == 2
    confirmed = collect(str(people), "--confirm", str(held["batch_id"]), "--json", "--as", "police_steward")
    assert confirmed.exit_code == 0, confirmed.output
    assert json.loads(confirmed.stdout)["status"] == "已发布"
    assert collect(str(people), "--confirm", str(held["batch_id"])).exit_code == 2  # not held any more
    second = json.loads(collect(str(people), str(path), "--json").stdout)
    discarded = collect(str(people), "--discard", str(second["batch_id"]), "--json")
    assert json.loads(discarded.stdout)["status"] == "已作废"
    with world.db.read() as s:
        statuses = [b["status"] for b in zone.list_batches(s, world.actor("admin"), people)]
        assert statuses == ["已发布", "已作废"]
        assert zone.count_current(s, people) == 10
