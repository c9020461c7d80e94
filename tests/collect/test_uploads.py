"""A held upload (the console's mapping step) taken by another worker of the same machine: it
links the file into a staging folder of its own, the upload can be taken once only, and the
receiving worker's copy is removed once the store says the upload was taken (issue 14)."""

from __future__ import annotations

import pytest

from yibenzhang.collect import uploads
from yibenzhang.collect.pipeline import ColumnCheck
from yibenzhang.config import get_settings
from yibenzhang.errors import NotFound
from yibenzhang.zone.storage import Staging


@pytest.fixture
def held(world):
    from tests.factories import published

    rid = published(world)
    staging = Staging(get_settings().zone)
    path = staging.path / "人口.csv"
    path.write_bytes("名字\r\n张三\r\n".encode("gbk"))
    check = ColumnCheck(columns=["名字"], items=[{"name": "姓名"}], ok=False, problems=[], suggested={"名字": "姓名"},
                        source={"format": "csv", "encoding": "gbk"})
    token = uploads.hold(world.db, world.actor("police_steward"), rid, staging, path, {"encoding": None}, check)
    return world, rid, staging, path, token


def test_another_worker_takes_a_held_upload_once(held):
    world, rid, staging, path, token = held
    steward = world.actor("police_steward")
    with pytest.raises(NotFound):  # only its uploader sees it
        uploads.held(world.db, token, world.actor("county_steward"))
    seen = uploads.held(world.db, token, steward)
    assert seen["resource_id"] == rid and seen["check"].suggested == {"名字": "姓名"} and seen["path"] == path
    # another worker: the receiving worker's staging is not in its memory
    digest = uploads._digest(token)
    receiving = uploads._local.pop(digest)
    state, mine = uploads.take(world.db, token, steward)
    assert mine.path != staging.path and state["path"].read_bytes() == path.read_bytes()
    with pytest.raises(NotFound):  # once only
        uploads.take(world.db, token, steward)
    # the receiving worker closes its copy once it sees the upload was taken
    uploads._local[digest] = receiving
    uploads._close_local(world.db)
    assert digest not in uploads._local and not staging.path.exists()
    assert state["path"].exists()  # the taker's link survives
    mine.close()
    assert not mine.path.exists()


def test_the_receiving_worker_takes_its_own_staging(held):
    world, _, staging, path, token = held
    state, mine = uploads.take(world.db, token, world.actor("police_steward"))
    assert mine is staging and state["path"] == path
    mine.close()


def test_a_held_upload_on_another_machine_says_upload_again(held, monkeypatch):
    world, _, _, _, token = held
    monkeypatch.setattr(uploads, "_host", lambda: "another-host")
    with pytest.raises(uploads.UploadElsewhere) as err:
        uploads.held(world.db, token, world.actor("police_steward"))
    assert err.value.status == 409 and err.value.code == "upload_elsewhere"
