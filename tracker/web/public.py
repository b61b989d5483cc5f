"""The public transparency page: national and regional uptake, small counts suppressed."""

from flask import Blueprint, abort, render_template, url_for

from tracker import disclosure, uptake
from tracker.extensions import db
from tracker.web.dashboard import EXPORT_TYPES, export_response
from tracker.web.dashboard_tables import PUBLIC_SHOWN, public_tables

bp = Blueprint("public", __name__, url_prefix="/public")


@bp.get("/uptake")
def uptake_page():
    today = uptake.london_today()
    return render_template(
        "dashboard/public.html",
        programmes=public_tables(db.session, today),
        rule=disclosure.RULE,
        shown=PUBLIC_SHOWN,
        today=today,
        downloads=lambda key: {
            kind: url_for("public.uptake_export", table=key, kind=kind) for kind in EXPORT_TYPES
        },
    )


@bp.get("/uptake/export/<table>.<kind>")
def uptake_export(table: str, kind: str):
    tables = {p.table.key: p.table for p in public_tables(db.session, uptake.london_today())}
    if table not in tables:
        abort(404)
    return export_response(
        tables[table], kind, [], f"{tables[table].caption}: England", [disclosure.RULE]
    )
