"""The products demo loader: nothing without the operate demo's data; with an authorization and
released runs, a registered product with a valid certificate, revenue, a valuation and a booking."""

from __future__ import annotations

from tests.assets.helpers import authorization, run
from tests.factories import published
from yibenzhang.assets import certificates
from yibenzhang.assets import demo as product_demo
from yibenzhang.assets.model import Booking, Product, Registration, Revenue, Valuation


def test_demo_products(world):
    assert product_demo.load(world.db, 7) == {}
    rid = published(world)
    auth = authorization(world, rid)
    for _ in range(2):
        run(world, auth, [rid])
    out = product_demo.load(world.db, 7)
    assert out["products"] == 2 and out["product_registration_code"].startswith("YBZ-990000-")
    with world.db.read() as s:
        states = [p.state for p in s.query(Product).order_by(Product.id)]
        assert states == ["已登记", "合规审查中"]
        reg = s.query(Registration).one()
        assert certificates.verify(s, reg.certificate)["valid"]
        assert s.query(Revenue).count() == 2 and s.query(Valuation).count() == 1 and s.query(Booking).count() == 1
