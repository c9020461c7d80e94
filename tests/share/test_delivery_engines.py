"""A delivery on Spark (issue 13): a grant's masked file, when its masking needs no keyed function
(kept characters, surnames, regions, redaction), is computed on a real Spark Connect server with
YBZ_ENGINE=spark and is the file DuckDB writes, byte for byte; a grant whose items are
SM4-encrypted or pseudonymised (Python kernels) is delivered by DuckDB whatever the setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from yibenzhang.classify import policies
from yibenzhang.config import reset_settings
from yibenzhang.jobs import Worker
from yibenzhang.zone.spark import SparkEngine

from .test_grants import issue, share_fixture  # noqa: F401  (the `share` fixture)

ONE_STORE = pytest.mark.parametrize("db", ["sqlite"], indirect=True)  # the metadata store is not under test


def _delivered(client, share, gid: int) -> bytes:
    headers = share.world.headers("consumer")
    r = client.post(f"/api/v1/grants/{gid}/deliveries", json={"format": "csv"}, headers=headers)
    assert r.status_code == 202, r.text
    assert Worker(share.world.db, run_tickers=False).run(once=True) == 1
    d = client.get(f"/api/v1/deliveries/{r.json()['id']}", headers=headers).json()
    assert d["status_en"] == "ready", d
    got = client.get(f"/api/v1/deliveries/{r.json()['id']}/download", headers=headers)
    assert got.status_code == 200
    return got.content


@ONE_STORE
def test_a_delivery_without_keyed_masking_runs_on_spark_and_is_the_same_file(client, share, spark_remote,
                                                                            monkeypatch, tmp_path) -> None:
    # a province whose policy masks the 3rd grade when shared (the default shares it in clear)
    default = (Path(policies.__file__).parents[1] / "data" / "masking_policies.toml").read_text(encoding="utf-8")
    stricter = default.replace('[policy."一般-3级"."共享"]\n"*" = "none"', '[policy."一般-3级"."共享"]\n"*" = "mask"')
    assert stricter != default
    (tmp_path / "policy.toml").write_text(stricter, encoding="utf-8")
    monkeypatch.setenv(policies.ENV_VAR, str(tmp_path / "policy.toml"))
    plain = issue(share, mode="文件", items=["姓名", "公民身份号码", "行政区划代码"])
    keyed = issue(share, mode="文件", items=["姓名", "宗教信仰"])  # SM4 for the 4th grade
    on_duckdb = {gid: _delivered(client, share, gid) for gid in (plain, keyed)}

    calls: list[int] = []
    real = SparkEngine.query

    def spy(self, state, plan, **kwargs):
        calls.append(state.resource_id)
        return real(self, state, plan, **kwargs)

    monkeypatch.setattr(SparkEngine, "query", spy)
    for key, value in (("YBZ_ENGINE", "spark"), ("YBZ_SPARK_REMOTE", spark_remote), ("YBZ_SPARK_MIN_BYTES", "0")):
        monkeypatch.setenv(key, value)
    reset_settings()
    assert _delivered(client, share, plain) == on_duckdb[plain]
    assert calls == [share.rid]  # on Spark
    text = on_duckdb[plain].decode("utf-8-sig")
    assert "欧阳**" in text and "990101********1234" in text and "990101" in text  # masked, as the policy says
    assert "欧阳娜娜" not in text and "990101199003071234" not in text
    keyed_on_spark_setting = _delivered(client, share, keyed)
    assert calls == [share.rid]  # SM4 is a kernel: DuckDB
    # SM4 encrypts with a random IV per value: the files differ, their names and row count not
    assert keyed_on_spark_setting.splitlines()[0] == on_duckdb[keyed].splitlines()[0]
    assert len(keyed_on_spark_setting.splitlines()) == len(on_duckdb[keyed].splitlines()) == 7
