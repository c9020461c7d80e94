"""The parallel strict decoder: iconv (or Python's codec) on newline-aligned slices gives the same
text and the same first bad byte as decoding the whole file with Python's codec; and a file
larger than one parse block and one slice keeps exact line numbers and reject counts."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import pytest

from tests.collect.conftest import rows_csv
from tests.s3_support import zone_file
from yibenzhang.collect import encoding as enc
from yibenzhang.collect.pipeline import ingest_file
from yibenzhang.zone import service as zone
from yibenzhang.zone.engine import get_engine

PIECES = ["张三", "䶮", "abc", ",", "\n", "１２", "😀", "云岭省春城市", "\r\n"]


def sample(seed: int) -> bytes:
    rnd = random.Random(seed)
    data = bytearray("".join(rnd.choice(PIECES) for _ in range(rnd.randint(0, 400))).encode("gb18030"))
    if seed % 3:  # bytes that are not GB18030 here and there (a lone lead byte, 0x80, 0xFF); not 0xFE:
        # FE40-FE9F hold the code points GB 18030-2022 moved out of the private-use area, where
        # iconv follows the standard and Python's codec does not
        for _ in range(rnd.randint(1, 3)):
            data.insert(rnd.randint(0, len(data)), rnd.choice([0x80, 0xFF, 0x81, 0x84]))
    return bytes(data)


@pytest.mark.parametrize("fast", [True, False])
def test_parallel_decoding_equals_whole_file_decoding(tmp_path, monkeypatch, fast):
    if not fast:
        def unavailable(encoding: str) -> None:
            raise OSError("no iconv here")

        monkeypatch.setattr(enc, "_Iconv", unavailable)  # the pure-Python fallback
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    for seed in range(120):
        data = sample(seed)
        src.write_bytes(data)
        expected = enc.find_invalid(src, enc.GB18030)
        for workers in (1, 2, 3):
            bad = enc.transcode(src, out, enc.GB18030, workers=workers)
            assert bad == expected, (seed, workers)
            if bad is None:
                assert out.read_bytes() == data.decode("gb18030").encode("utf-8"), (seed, workers)
            assert not list(tmp_path.glob("out.csv.*"))  # slice files are cleaned up


def test_cancel_stops_decoding(tmp_path):
    import threading

    src = tmp_path / "big.csv"
    src.write_bytes(("张三,李四\n" * 200_000).encode("gb18030"))
    stop = threading.Event()
    stop.set()
    assert enc.transcode(src, tmp_path / "o.csv", enc.GB18030, cancel=stop) is None
    assert (tmp_path / "o.csv").stat().st_size < src.stat().st_size


def test_many_blocks_keep_exact_lines_and_rejects(world, people, tmp_path):
    n = 30_000  # about 1.5 MB: several Arrow blocks and both decoding slices
    rows = [f"人{i},{110101199000000000 + i},2023-05-01,{i},是,1" for i in range(n)]
    bad_lines = {7: "2023-13-45", 17_000: "不是日期", n - 1: "2023-02-30"}
    for index, value in bad_lines.items():
        rows[index] = f"坏{index},{110101199000000000 + index},{value},1,是,1"
    path = tmp_path / "many.csv"
    path.write_bytes(rows_csv(rows).encode("gb18030"))
    report = ingest_file(world.db, world.actor("police_steward"), people, path, mode="全量")
    assert (report.rows_read, report.rows_accepted, report.rows_rejected) == (n, n - 3, 3)
    raw = zone_file(report.reject_file).read_text(encoding="utf-8-sig")
    lines = list(csv.DictReader(raw.splitlines()))
    assert [(r["行号"], r["原值"]) for r in lines] == [(str(i + 2), v) for i, v in sorted(bad_lines.items())]
    with world.db.read() as s:
        rel = zone.current_relation(s, people)
    got = get_engine().sql(f"SELECT min(_row) AS lo, max(_row) AS hi, count(*) AS n, "
                           f"count(*) FILTER (WHERE _row = 20002 AND \"姓名\" = '人20000') AS probe FROM {rel}")
    assert got.to_pylist() == [{"lo": 2, "hi": n, "n": n - 3, "probe": 1}]


def test_utf16_is_decoded_whole(world, people, tmp_path):
    path = tmp_path / "u16.csv"
    path.write_bytes(rows_csv(["张三,110101199003077777,2023-05-01,1,是,1"]).encode("utf-16"))
    report = ingest_file(world.db, world.actor("police_steward"), people, Path(path), encoding="utf-16")
    assert report.rows_accepted == 1
