"""The public transparency page: the newest published snapshot of uptake, never live figures.

What a reader sees changes only when the figures are published (``tracker.publication``),
so no one can make a claim and watch a hidden count move. Live figures stay behind sign-in,
on the DfE dashboard.
"""

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, abort, render_template, url_for
from markupsafe import Markup

from tracker import disclosure, exports, publication
from tracker.charts import bar_chart
from tracker.extensions import db
from tracker.formats import long_date
from tracker.models import PublishedSnapshot
from tracker.web.dashboard import EXPORT_TYPES

bp = Blueprint("public", __name__, url_prefix="/public")


@dataclass
class PublishedProgramme:
    """One programme's published figures, laid out for the page and its downloads."""

    code: str
    name: str
    target: int | None
    funded_in_england: int | str
    table: exports.Table
    chart: Markup


def _programmes(snapshot: PublishedSnapshot) -> list[PublishedProgramme]:
    figures = snapshot.figures
    headers = list(figures["headers"])
    return [_programme(item, headers) for item in figures["programmes"]]


def _programme(item: dict[str, Any], headers: list[str]) -> PublishedProgramme:
    code, name = item["code"], item["name"]
    table = exports.Table(
        f"public-{code}",
        item["caption"],
        headers,
        rows=[list(row) for row in item["rows"]],
        numeric=set(range(1, len(headers))),
    )
    bars = [
        (region, None if value == disclosure.SUPPRESSED else value)
        for region, value in item["funded_by_region"]
    ]
    chart = bar_chart(
        chart_id=f"chart-public-{code}",
        title=f"{name}: funded places by region",
        summary=f"Funded places by region on {name}: "
        + "; ".join(
            f"{region} {disclosure.SUPPRESSED if value is None else format(value, ',')}"
            for region, value in bars
        )
        + ".",
        bars=bars,
    )
    return PublishedProgramme(code, name, item["target"], item["funded_in_england"], table, chart)


@bp.get("/uptake")
def uptake_page():
    snapshot = publication.latest(db.session)
    return render_template(
        "dashboard/public.html",
        snapshot=snapshot,
        programmes=_programmes(snapshot) if snapshot else [],
        next_publication=publication.next_publication(db.session),
        downloads=lambda key: {
            kind: url_for("public.uptake_export", table=key, kind=kind) for kind in EXPORT_TYPES
        },
    )


@bp.get("/uptake/export/<table>.<kind>")
def uptake_export(table: str, kind: str):
    """A published table as CSV or Excel: the same snapshot as the page, named by its date."""
    if kind not in EXPORT_TYPES:
        abort(404)
    snapshot = publication.latest(db.session)
    if snapshot is None:
        abort(404)
    tables = {p.table.key: p.table for p in _programmes(snapshot)}
    if table not in tables:
        abort(404)
    chosen = tables[table]
    if kind == "csv":
        body = exports.to_csv(chosen)
    else:
        body = exports.to_xlsx(
            chosen,
            title=f"{chosen.caption}: England",
            notes=[
                f"Published on {long_date(publication.london_date(snapshot.published_dt))}."
                f" Figures for {long_date(snapshot.figures_on)}.",
                snapshot.figures["rule"],
            ],
        )
    name = f"{chosen.key}_figures-for-{snapshot.figures_on.isoformat()}.{kind}"
    return Response(
        body,
        mimetype=EXPORT_TYPES[kind],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
