"""Uptake dashboards: national for DfE, local for DfE and the local authority, with exports."""

import dataclasses
from collections.abc import Callable
from datetime import date, datetime

import sqlalchemy as sa
from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovSelect, GovSubmitInput
from markupsafe import Markup
from sqlalchemy.orm import joinedload
from werkzeug.datastructures import MultiDict
from wtforms import SelectField, SubmitField
from wtforms.validators import ValidationError

from tracker import access, exports, uptake
from tracker.access import require_role
from tracker.extensions import db
from tracker.figures import DEFINITIONS, PLACES_LEFT
from tracker.formats import long_date
from tracker.models import LocalAuthority, Programme, Role
from tracker.reminders.time import LONDON
from tracker.web import figure_cache
from tracker.web.dashboard_tables import SHOWN, Dashboard, local_dashboard, national_dashboard
from tracker.web.fields import GovDateField, ListPage, page_of

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")
bp.before_request(require_role(Role.DFE, Role.LOCAL_AUTHORITY))

EXPORT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


class FilterForm(FlaskForm):
    """The dashboards' filters, sent by GET: no CSRF token, nothing changes."""

    class Meta:
        csrf = False

    programme = SelectField("Programme", widget=GovSelect(), default="")
    claimed_from = GovDateField("Claims made from")
    claimed_to = GovDateField("Claims made up to")
    submit = SubmitField("Apply filters", widget=GovSubmitInput())

    def validate_claimed_to(self, field):
        if field.data and self.claimed_from.data and field.data < self.claimed_from.data:
            raise ValidationError("Claims made up to must be the same as or after claims made from")


def _filter_form(programmes: list[Programme]) -> FilterForm:
    args = request.args
    form = FilterForm(formdata=args if args else MultiDict({"programme": ""}))
    form.programme.choices = [("", "All programmes")] + [(p.code, p.name) for p in programmes]
    return form


def _programmes() -> list[Programme]:
    return list(db.session.scalars(sa.select(Programme).order_by(Programme.code)))


def _scope(form: FilterForm, programmes: list[Programme], **area) -> uptake.Scope:
    by_code = {p.code: p.id for p in programmes}
    return uptake.Scope(
        programme_id=by_code.get(form.programme.data or ""),
        claimed_from=form.claimed_from.data,
        claimed_to=form.claimed_to.data,
        **area,
    )


def _filter_words(form: FilterForm) -> list[str]:
    """The filters applied, as parts of a download's file name."""
    words = []
    if form.programme.data:
        words.append(form.programme.data)
    if form.claimed_from.data:
        words.append(f"from-{form.claimed_from.data.isoformat()}")
    if form.claimed_to.data:
        words.append(f"to-{form.claimed_to.data.isoformat()}")
    return words


def filter_description(form: FilterForm, programmes: list[Programme]) -> str:
    names = {p.code: p.name for p in programmes}
    parts = [names.get(form.programme.data or "", "All programmes")]
    start, end = form.claimed_from.data, form.claimed_to.data
    if start and end:
        parts.append(f"claims made from {long_date(start)} to {long_date(end)}")
    elif start:
        parts.append(f"claims made from {long_date(start)}")
    elif end:
        parts.append(f"claims made up to {long_date(end)}")
    else:
        parts.append("all claims")
    return ", ".join(parts)


def export_response(table: exports.Table, kind: str, filters: list[str], title: str, notes):
    """Send a table as a download named after it, its filters and today's date."""
    if kind not in EXPORT_TYPES:
        abort(404)
    today = uptake.london_today()
    if kind == "csv":
        body = exports.to_csv(table)
    else:
        body = exports.to_xlsx(
            table, title=title, notes=[*notes, f"Extracted on {long_date(today)}."]
        )
    name = exports.file_name(table, filters, today, kind)
    return Response(
        body,
        mimetype=EXPORT_TYPES[kind],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _download_links(endpoint: str, **values):
    """A function for templates: the CSV and Excel links of a table, keeping the filters."""
    args = request.args.to_dict(flat=False)
    args.pop("submit", None)

    def links(table_key: str) -> dict[str, str]:
        return {
            kind: url_for(endpoint, table=table_key, kind=kind, **values, **args)
            for kind in EXPORT_TYPES
        }

    return links


def _main(
    template: str,
    form: FilterForm,
    programmes: list[Programme],
    build: Callable[[date], Dashboard],
    *key,
    **context,
):
    """A dashboard's main content: its filters and, when they are valid, its figures.

    With valid filters it is kept between requests (``figure_cache``) under the page, the
    viewer's role, the filters exactly as sent, today's date (projections and the target
    in force depend on the day) and ``key``.
    """
    today = uptake.london_today()

    def render(dashboard: Dashboard | None = None, worked_out_at: datetime | None = None) -> str:
        return render_template(
            template,
            form=form,
            dashboard=dashboard,
            worked_out_at=worked_out_at,
            percent=_percent,
            definitions=DEFINITIONS,
            places_left_label=PLACES_LEFT[0],
            shown=SHOWN,
            table_page=_table_page,
            table_split=_table_split,
            **context,
        )

    if not form.validate():
        return Markup(render())  # noqa: S704  (a rendered template, escaped as it was made)
    filters = tuple(sorted(request.args.items(multi=True)))
    return figure_cache.kept_part(
        (template, current_user.role.value, filters, today.isoformat(), *key),
        lambda now: render(build(today), datetime.fromtimestamp(now, LONDON)),
        version=sum(p.ledger_seq for p in programmes),
    )


# Long breakdowns (local authorities) are shown this many rows to a page; downloads hold all.
ROWS_PER_PAGE = 20


def _table_page(table: exports.Table) -> tuple[exports.Table, ListPage]:
    """The rows of ``table`` on the page asked for (?page=), and that page to link from."""
    page = page_of(table.rows, per_page=ROWS_PER_PAGE)
    return dataclasses.replace(table, rows=page.items), page


# A table of rows there may be many of, but not pages of (a programme's providers), shows this
# many; the rest are folded away below it, and the downloads hold them all.
ROWS_SHOWN = 10


def _table_split(table: exports.Table) -> tuple[exports.Table, exports.Table | None]:
    """The first rows of ``table`` to show, and a table of the rest to fold away (None if
    there are no more)."""
    if len(table.rows) <= ROWS_SHOWN:
        return table, None
    rest = table.rows[ROWS_SHOWN:]
    return dataclasses.replace(table, rows=table.rows[:ROWS_SHOWN]), dataclasses.replace(
        table, key=f"{table.key}-more", caption=f"{table.caption}: {len(rest):,} more", rows=rest
    )


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value:.0%}"


# -- national ------------------------------------------------------------------------------


def _national(
    form: FilterForm,
    programmes: list[Programme],
    today: date,
    *,
    areas: bool = True,
    every_cohort: bool = False,
) -> Dashboard:
    return national_dashboard(
        db.session, _scope(form, programmes), today, areas=areas, every_cohort=every_cohort
    )


@bp.get("")
def national():
    if current_user.role == Role.LOCAL_AUTHORITY:
        # A local authority's dashboard is its own area's.
        la_code = current_user.local_authority.la_code
        return redirect(url_for("dashboard.local", la_code=la_code, **request.args))
    programmes = _programmes()
    form = _filter_form(programmes)
    chosen = next((p for p in programmes if p.code == form.programme.data), None)
    main = _main(
        "dashboard/_national_main.html",
        form,
        programmes,
        lambda today: _national(form, programmes, today, areas=chosen is not None),
        filters=filter_description(form, programmes),
        downloads=_download_links("dashboard.national_export"),
        chosen=chosen,
        pages=_programme_pages(programmes, chosen),
    )
    return render_template("dashboard/national.html", form=form, main=main, chosen=chosen)


def _programme_pages(programmes: list[Programme], chosen: Programme | None) -> list[dict]:
    """The dashboard's pages, all programmes then one per programme, keeping the dates chosen."""
    args = request.args.to_dict(flat=False)
    for name in ("programme", "page", "submit"):
        args.pop(name, None)
    pages = [{"text": "All programmes", "href": url_for("dashboard.national", **args)}]
    pages += [
        {"text": p.name, "href": url_for("dashboard.national", programme=p.code, **args)}
        for p in programmes
    ]
    current = 0 if chosen is None else 1 + programmes.index(chosen)
    for index, page in enumerate(pages):
        page["current"] = index == current
    return pages


@bp.get("/export/<table>.<kind>")
def national_export(table: str, kind: str):
    if current_user.role != Role.DFE:
        abort(403)
    programmes = _programmes()
    form = _filter_form(programmes)
    if not form.validate():
        abort(400)
    dashboard = _national(form, programmes, uptake.london_today(), every_cohort=table == "cohorts")
    if table not in dashboard.tables:
        abort(404)
    described = filter_description(form, programmes)
    return export_response(
        dashboard.tables[table],
        kind,
        _filter_words(form),
        f"{dashboard.tables[table].caption}: England",
        [f"Filters: {described}."],
    )


# -- local ---------------------------------------------------------------------------------


def _local_authority_or_404(la_code: str) -> LocalAuthority:
    local_authority = db.session.scalar(
        sa.select(LocalAuthority)
        .where(LocalAuthority.la_code == la_code)
        .options(joinedload(LocalAuthority.region))
    )
    if local_authority is None:
        abort(404)
    if not access.may_read_area(current_user, local_authority.id):
        abort(403)
    return local_authority


def _local(form, programmes, local_authority, today: date) -> Dashboard:
    scope = _scope(form, programmes, local_authority_id=local_authority.id)
    return local_dashboard(db.session, scope, local_authority, today)


@bp.get("/la/<la_code>")
def local(la_code: str):
    local_authority = _local_authority_or_404(la_code)
    programmes = _programmes()
    form = _filter_form(programmes)
    main = _main(
        "dashboard/_local_main.html",
        form,
        programmes,
        lambda today: _local(form, programmes, local_authority, today),
        local_authority.id,
        local_authority=local_authority,
        filters=filter_description(form, programmes),
        downloads=_download_links("dashboard.local_export", la_code=la_code),
    )
    return render_template(
        "dashboard/local.html", form=form, local_authority=local_authority, main=main
    )


@bp.get("/la/<la_code>/export/<table>.<kind>")
def local_export(la_code: str, table: str, kind: str):
    local_authority = _local_authority_or_404(la_code)
    programmes = _programmes()
    form = _filter_form(programmes)
    if not form.validate():
        abort(400)
    dashboard = _local(form, programmes, local_authority, uptake.london_today())
    if table not in dashboard.tables:
        abort(404)
    described = filter_description(form, programmes)
    return export_response(
        dashboard.tables[table],
        kind,
        [local_authority.la_code, local_authority.name, *_filter_words(form)],
        f"{dashboard.tables[table].caption}: {local_authority.name}",
        [f"Filters: {described}."],
    )
