"""Pages for local authorities: the settings, claims and progress in their own area.

Read only. Every query is narrowed to the signed-in account's area, as ``tracker.access``
defines it for pages, the API and the figures alike.
"""

import sqlalchemy as sa
from flask import Blueprint, render_template, request
from flask_login import current_user
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovSelect, GovSubmitInput, GovTextInput
from werkzeug.datastructures import MultiDict
from wtforms import SelectField, StringField, SubmitField
from wtforms.validators import Length

from tracker import access, figures
from tracker.access import require_role
from tracker.claim_progress import (
    CLAIM_ROW_LOADS,
    STATUS_LABELS,
    milestones_declared,
)
from tracker.extensions import db
from tracker.models import Claim, ClaimStatus, Programme, Role, Setting
from tracker.places import waiting_positions
from tracker.web.fields import PlainText, paginate

bp = Blueprint("local_authority", __name__, url_prefix="/local-authority")
bp.before_request(require_role(Role.LOCAL_AUTHORITY))

SETTINGS_PER_PAGE = 25
CLAIMS_PER_PAGE = 25


class SettingSearchForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField(
        "Search by name or URN",
        widget=GovTextInput(),
        validators=[
            Length(max=200, message="Search must be 200 characters or fewer"),
            PlainText("Search must not contain special characters"),
        ],
    )
    submit = SubmitField("Search", widget=GovSubmitInput())


class ClaimFilterForm(FlaskForm):
    class Meta:
        csrf = False

    programme = SelectField(
        "Programme",
        widget=GovSelect(),
        default="",
        invalid_choice_message="Select a programme from the list",
    )
    status = SelectField(
        "Status",
        widget=GovSelect(),
        default="",
        invalid_choice_message="Select a status from the list",
        choices={"": "Any status", **{s.value: label for s, label in STATUS_LABELS.items()}},
    )
    setting = StringField(
        "Setting URN",
        widget=GovTextInput(),
        validators=[
            Length(max=8, message="Enter a URN of 8 characters or fewer"),
            PlainText("Enter a URN of letters and digits"),
        ],
    )
    submit = SubmitField("Apply filters", widget=GovSubmitInput())


def _form(form_class):
    return form_class(formdata=request.args if request.args else MultiDict())


@bp.get("/")
def home():
    return render_template("local_authority/home.html")


@bp.get("/settings")
def settings():
    form = _form(SettingSearchForm)
    query = access.settings(db.session, current_user)
    if form.validate():
        words = (form.q.data or "").strip()
        if words:
            query = query.where(
                sa.or_(
                    Setting.name.icontains(words, autoescape=True),
                    Setting.urn == words.upper(),
                )
            )
    else:
        query = query.where(sa.false())
    page = paginate(query.order_by(Setting.name, Setting.id), per_page=SETTINGS_PER_PAGE)
    ids = [s.id for s in page.items]
    counted = figures.by_setting(db.session, ids)
    live = {i: f.live for i, f in counted.items()}
    completed = {i: f.completed for i, f in counted.items()}
    return render_template(
        "local_authority/settings.html", form=form, page=page, live=live, completed=completed
    )


@bp.get("/claims")
def claims():
    programmes = db.session.scalars(sa.select(Programme).order_by(Programme.name)).all()
    form = _form(ClaimFilterForm)
    form.programme.choices = {"": "All programmes", **{p.code: p.name for p in programmes}}
    query = (
        access.claims(db.session, current_user)
        .options(*CLAIM_ROW_LOADS)
        .join(Programme, Claim.programme_id == Programme.id)
        .outerjoin(Setting, Claim.setting_id == Setting.id)
    )
    if form.validate():
        if form.programme.data:
            query = query.where(Programme.code == form.programme.data)
        if form.status.data:
            query = query.where(Claim.status == ClaimStatus(form.status.data))
        if (form.setting.data or "").strip():
            query = query.where(Setting.urn == form.setting.data.strip().upper())
    else:
        query = query.where(sa.false())
    page = paginate(
        query.order_by(Claim.claimed_dt.desc(), Claim.id.desc()), per_page=CLAIMS_PER_PAGE
    )
    area = figures.Scope(local_authority_id=current_user.local_authority_id)
    counts = {
        programme_id: f.by_status()
        for programme_id, f in figures.by_programme(db.session, area).items()
    }
    return render_template(
        "local_authority/claims.html",
        form=form,
        page=page,
        programmes=programmes,
        counts=counts,
        statuses=list(STATUS_LABELS),
        status_labels=STATUS_LABELS,
        status_figures={s: figures.DEFINITIONS[n] for s, n in figures.STATUS_FIGURES.items()},
        declared=milestones_declared(db.session, [c.id for c in page.items]),
        positions=waiting_positions(db.session, page.items),
    )
