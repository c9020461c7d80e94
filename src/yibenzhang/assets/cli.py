"""`ybz product …`: data products, compliance review, registration, certificates, revenue,
disclosure, valuation and 入表. Thin adapters over the assets services; every command takes
--as USER and --json, and exits 2 with the message in Chinese and English on bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from ..clikit import AsOpt, JsonOpt, acting_as, domain_errors, emit
from ..db import get_database
from ..errors import NotFound

product_app = typer.Typer(help="Data products (数据产品): review, registration, certificates, pricing, 入表.",
                          no_args_is_help=True)

LIST_COLUMNS = ["id", "name", "kind", "state", "pricing_category", "price_fen", "authorization_id", "version"]


def _json_arg(raw: str, what: str) -> Any:
    """A JSON value given inline or as @FILE."""
    text = Path(raw[1:]).read_text(encoding="utf-8") if raw.startswith("@") else raw
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise typer.BadParameter(f"{what}: not JSON ({exc.msg})") from None


@product_app.command("list")
def list_cmd(state: str | None = typer.Option(None, "--state"), limit: int = typer.Option(50, "--limit"),
             as_user: str | None = AsOpt, as_json: bool = JsonOpt) -> None:
    """Products the acting user may read, newest first."""
    # deferred: keeps `ybz --help` light
    from . import products

    with domain_errors(as_json):
        actor = acting_as(as_user)
        with get_database().read() as s:
            rows, total = products.list_products(s, actor, state=state, limit=limit)
            out = [products.product_dict(s, p) for p in rows]
    emit({"total": total, "items": out} if as_json else out, as_json, columns=LIST_COLUMNS,
         title=f"数据产品 / products ({total})")


@product_app.command("create")
def create_cmd(
    authorization_id: int = typer.Option(..., "--authorization"),
    name: str = typer.Option(..., "--name"), kind: str = typer.Option("数据集", "--kind"),
    description: str = typer.Option(..., "--description"), use: str | None = typer.Option(None, "--use"),
    scenario: str | None = typer.Option(None, "--scenario"),
    runs: list[int] = typer.Option([], "--run", help="A released sandbox run id (repeatable)."),
    pi_consent_ref: str | None = typer.Option(None, "--consent-ref", help="Where the persons' consent is recorded."),
    category: str = typer.Option(..., "--category", help="公共治理 | 公益事业 | 产业发展 | 行业发展"),
    price_fen: int = typer.Option(0, "--price-fen"), as_user: str | None = AsOpt, as_json: bool = JsonOpt,
) -> None:
    """Create a product from released sandbox runs (operator users)."""
    # deferred: keeps `ybz --help` light
    from . import products

    data = {"name": name, "kind": kind, "description": description, "use": use, "scenario": scenario,
            "source_run_ids": runs, "pi_consent": bool(pi_consent_ref), "pi_consent_ref": pi_consent_ref,
            "pricing_category": category, "price_fen": price_fen}
    with domain_errors(as_json):
        actor = acting_as(as_user)
        with get_database().write() as s:
            out = products.product_dict(s, products.create_product(s, actor, authorization_id=authorization_id,
                                                                   data=data))
    emit(out, as_json)


@product_app.command("show")
def show_cmd(product_id: int, as_user: str | None = AsOpt, as_json: bool = JsonOpt) -> None:
    """One product with its latest compliance review and registration code."""
    # deferred: keeps gmssl, httpx out of this module's import
    from . import compliance, products, registration

    with domain_errors(as_json):
        actor = acting_as(as_user)
        with get_database().read() as s:
            p = products.get_product(s, actor, product_id)
            out = products.product_dict(s, p)
            review = compliance.latest_review(s, p.id)
            out["review"] = compliance.review_dict(review) if review else None
            out["registration_code"] = registration.current_code(s, p.id)
    emit(out, as_json)


@product_app.command("review")
def review_cmd(product_id: int, as_user: str | None = AsOpt, as_json: bool = JsonOpt) -> None:
    """Submit for compliance review; the automatic checks answer at once."""
    # deferred: keeps `ybz --help` light
    from . import compliance

    with domain_errors(as_json):
        actor = acting_as(as_user)
        with get_database().write() as s:
            out = compliance.review_dict(compliance.submit_for_review(s, actor, product_id))
    _emit_review(out, as_json)


def _emit_review(out: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit(out, True)
        return
    rows = [{"kind": c["kind"], "rule": c["rule"], "title": c["title"], "result": c["result"],
             "reason": c["reason"] or ""} for c in out["checks"]]
    emit(rows, False, columns=["kind", "rule", "title", "result", "reason"],
         title=f"合规审查 / compliance review {out['id']}: {out['state']}")


@product_app.command("signoff")
def signoff_cmd(
    product_id: int,
    items: list[str] = typer.Option(..., "--item", help="KIND=通过|不通过:NOTE, e.g. 5=通过:无商业秘密 (repeatable)."),
    as_user: str | None = AsOpt, as_json: bool = JsonOpt,
) -> None:
    """The authority's reviewer signs off items 1, 2, 5 and 7 of the current review."""
    # deferred: keeps `ybz --help` light
    from . import compliance

    parsed = []
    for raw in items:
        kind, sep, rest = raw.partition("=")
        verdict, _, note = rest.partition(":")
        if not sep or not kind.strip().isdigit():
            raise typer.BadParameter(f"expected KIND=VERDICT:NOTE, got {raw!r}", param_hint="--item")
        parsed.append({"kind": int(kind), "verdict": verdict.strip(), "note": note.strip()})
    with domain_errors(as_json):
        actor = acting_as(as_user)
        with get_database().write() as s:
            out = compliance.review_dict(compliance.sign_off(s, actor, product_id, parsed))
    _emit_review(out, as_json)


@product_app.command("register")
def register_cmd(
    product_id: int, kind: str = typer.Option("首次", "--kind", help="首次 | 变更 | 更正 | 注销"),
    holder: str | None = typer.Option(None, "--holder", help="数据资源持有权 holder"),
    processor: str | None = typer.Option(None, "--processor", help="数据加工使用权 holder"),
    operator: str | None = typer.Option(None, "--operator", help="数据产品经营权 holder"),
    as_user: str | None = AsOpt, as_json: bool = JsonOpt,
) -> None:
    """Apply for registration, naming the holders of the three rights."""
    # deferred: keeps gmssl, httpx out of this module's import
    from . import registration

    rights = {k: v for k, v in (("数据资源持有权", holder), ("数据加工使用权", processor),
                                ("数据产品经营权", operator)) if v}
    with domain_errors(as_json):
        actor = acting_as(as_user)
        with get_database().write() as s:
            out = registration.registration_dict(s, registration.apply(s, actor, product_id, kind=kind,
                                                                       rights=rights or None))
    emit(out, as_json)


@product_app.command("step")
def step_cmd(
    registration_id: int,
    action: str = typer.Argument(..., help="accept | check | code"),
    reject: bool = typer.Option(False, "--reject"), note: str | None = typer.Option(None, "--note"),
    as_user: str | None = AsOpt, as_json: bool = JsonOpt,
) -> None:
    """The authority moves a registration on: 受理 (accept), 形式审核 (check), 赋码 (code)."""
    # deferred: keeps gmssl, httpx out of this module's import
    from . import registration

    if action not in ("accept", "check", "code"):
        raise typer.BadParameter("accept | check | code", param_hint="ACTION")
    with domain_errors(as_json):
        actor = acting_as(as_user)
        with get_database().write() as s:
            if action == "accept":
                reg = registration.accept(s, actor, registration_id, reject=reject, note=note)
            elif action == "check":
                reg = registration.formal_check(s, actor, registration_id, reject=reject, note=note)
            else:
                reg = registration.assign_code(s, actor, registration_id)
            out = registration.registration_dict(s, reg)
    if not as_json:
        out.pop("certificate", None)
    emit(out, as_json)


@product_app.command("certificate")
def certificate_cmd(registration_id: int, output: Path | None = typer.Option(None, "--output", "-o"),
                    as_user: str | None = AsOpt, as_json: bool = JsonOpt) -> None:
    """Write a registration's certificate (JSON) to a file or stdout."""
    # deferred: keeps gmssl, httpx out of this module's import
    from . import registration

    with domain_errors(as_json):
        actor = acting_as(as_user)
        with get_database().read() as s:
            reg, _ = registration.get_registration(s, actor, registration_id)
            if reg.certificate is None:
                raise NotFound(f"登记 {registration_id} 的证书", "certificate_not_found")
            cert = reg.certificate
    text = json.dumps(cert, ensure_ascii=False, indent=2)
    if output:
        output.write_text(text + "\n", encoding="utf-8")
        emit({"written": str(output)}, as_json)
    else:
        typer.echo(text)


@product_app.command("verify")
def verify_cmd(path: Path, as_json: bool = JsonOpt) -> None:
    """Check a certificate file: digest, signature and register. Exit 1 when it is not valid."""
    # deferred: keeps gmssl out of this module's import
    from . import certificates

    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        document = None
    with get_database().read() as s:
        out = certificates.verify(s, document)
    emit(out, as_json)
    if not out["valid"]:
        raise typer.Exit(1)


@product_app.command("revenue")
def revenue_cmd(product_id: int, period: str = typer.Option(..., "--period", help="YYYY-MM"),
                units: int = typer.Option(..., "--units"), amount_fen: int = typer.Option(..., "--amount-fen"),
                as_user: str | None = AsOpt, as_json: bool = JsonOpt) -> None:
    """Record a month's revenue; the excess over the approved maximum carries into the next month."""
    # deferred: keeps gmssl, httpx out of this module's import
    from . import pricing

    with domain_errors(as_json):
        actor = acting_as(as_user)
        with get_database().write() as s:
            out = pricing.revenue_dict(pricing.record_revenue(s, actor, product_id, period=period, units=units,
                                                              amount_fen=amount_fen))
    emit(out, as_json)


@product_app.command("disclosure")
def disclosure_cmd(operator_org_id: int = typer.Option(..., "--org"), year: int = typer.Option(..., "--year"),
                   xlsx: Path | None = typer.Option(None, "--xlsx", help="Also write the XLSX here."),
                   as_user: str | None = AsOpt, as_json: bool = JsonOpt) -> None:
    """An operator's annual disclosure (due 31 March of the following year)."""
    # deferred: keeps gmssl, httpx out of this module's import
    from . import pricing

    with domain_errors(as_json):
        actor = acting_as(as_user)
        with get_database().read() as s:
            data = pricing.disclosure(s, actor, operator_org_id, year)
    if xlsx:
        xlsx.write_bytes(pricing.disclosure_xlsx(data))
    emit(data, as_json)


@product_app.command("value")
def value_cmd(product_id: int, method: str = typer.Option(..., "--method", help="cost | income | market"),
              inputs: str = typer.Option(..., "--inputs", help="JSON inputs, inline or @FILE."),
              as_user: str | None = AsOpt, as_json: bool = JsonOpt) -> None:
    """Value a product; the inputs and their SM3 digest are kept so the figure can be reproduced."""
    # deferred: keeps `ybz --help` light
    from . import valuation

    data = _json_arg(inputs, "--inputs")
    with domain_errors(as_json):
        actor = acting_as(as_user)
        with get_database().write() as s:
            out = valuation.valuation_dict(valuation.value_product(s, actor, product_id, method, data))
    emit(out, as_json)


@product_app.command("book")
def book_cmd(product_id: int, intention: str = typer.Option(..., "--intention", help="内部使用 | 对外出售"),
             costs: list[str] = typer.Option(..., "--cost", help="ITEM=FEN, e.g. 清洗=20000 (repeatable)."),
             export: Path | None = typer.Option(None, "--export", help="Write the product's 入表 lines (.xlsx/.csv)."),
             as_user: str | None = AsOpt, as_json: bool = JsonOpt) -> None:
    """入表: classify a product (无形资产 / 存货) and split its costs (capitalised / expensed)."""
    # deferred: keeps `ybz --help` light
    from . import accounting

    items = []
    for raw in costs:
        name, sep, amount = raw.partition("=")
        if not sep:
            raise typer.BadParameter(f"expected ITEM=FEN, got {raw!r}", param_hint="--cost")
        items.append({"item": name.strip(), "amount_fen": amount.strip()})
    with domain_errors(as_json):
        actor = acting_as(as_user)
        with get_database().write() as s:
            out = accounting.booking_dict(s, accounting.book(s, actor, product_id, intention=intention,
                                                             cost_items=items))
            if export:
                rows = accounting.bookings_of(s, actor, product_id)
                data = accounting.export_csv(s, rows) if export.suffix == ".csv" else accounting.export_xlsx(s, rows)
                export.write_bytes(data)
    emit(out, as_json)
