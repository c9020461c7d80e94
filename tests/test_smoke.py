from tests.factories import published


def test_world_builds_and_publishes(world):
    rid = published(world)
    with world.db.read() as s:
        from yibenzhang.catalog.model import Resource

        r = s.get(Resource, rid)
        assert r.status == "已发布"
        assert r.code.startswith("101001/")
