"""Pages for early years settings and schools: find cohorts, claim places, follow their staff.

A setting sees only its own staff and claims: every claim is looked up within its scope
in ``tracker.access``, so another setting's claim is not found (404).
"""

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovSelect, GovSubmitInput, GovTextArea, GovTextInput
from werkzeug.datastructures import MultiDict
from wtforms import SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length

from tracker import access, places
from tracker.access import programmes_open_to, require_role
from tracker.claim_progress import (
    CLAIM_ROW_LOADS,
    STATUS_LABELS,
    milestones_declared,
)
from tracker.cohort_finder import (
    CohortSearch,
    availability,
    open_cohorts,
    places_held_by_setting,
    places_setting_may_add,
)
from tracker.extensions import db
from tracker.models import Claim, ClaimStatus, Cohort, LocalAuthority, Region, Role
from tracker.places import waiting_positions
from tracker.web.fields import GovDateField, PlainText, page_of, paginate
from tracker.web.forms import commit_or_show

bp = Blueprint("setting", __name__, url_prefix="/setting")
bp.before_request(require_role(Role.SETTING))

COHORTS_PER_PAGE = 20
CLAIMS_PER_PAGE = 25


class CohortSearchForm(FlaskForm):
    """The search for open cohorts, sent by GET: no CSRF token, nothing changes."""

    class Meta:
        csrf = False

    programme = SelectField(
        "Programme",
        widget=GovSelect(),
        default="",
        invalid_choice_message="Select a programme from the list",
    )
    area = SelectField(
        "Area",
        widget=GovSelect(),
        default="",
        invalid_choice_message="Select an area from the list",
        description="Cohorts already training staff from settings in this area.",
    )
    starts_from = GovDateField("Starting on or after", description="For example, 1 9 2026")
    submit = SubmitField("Search", widget=GovSubmitInput())


class ClaimForm(FlaskForm):
    full_name = StringField(
        "Full name",
        widget=GovTextInput(),
        validators=[
            InputRequired("Enter the participant's full name"),
            Length(max=200, message="The full name must be 200 characters or fewer"),
            PlainText("The full name must not contain special characters"),
        ],
    )
    email = StringField(
        "Email address",
        widget=GovTextInput(),
        description="Their own work email address: reminders are sent to it.",
        validators=[
            InputRequired("Enter the participant's email address"),
            Length(max=254, message="The email address must be 254 characters or fewer"),
            PlainText("Enter an email address in the correct format, like name@example.com"),
        ],
    )
    trn = StringField(
        "Teacher reference number (TRN) (optional)",
        widget=GovTextInput(),
        description="7 digits, if they have one.",
        validators=[
            Length(max=20, message="Enter a teacher reference number (TRN) of 7 digits"),
            PlainText("Enter a teacher reference number (TRN) of 7 digits"),
        ],
    )
    submit = SubmitField("Claim a place", widget=GovSubmitInput())


class WithdrawForm(FlaskForm):
    reason = TextAreaField(
        "Why is the claim being withdrawn?",
        widget=GovTextArea(),
        validators=[
            InputRequired("Enter the reason for the withdrawal"),
            Length(max=2000, message="The reason must be 2,000 characters or fewer"),
            PlainText("The reason must not contain special characters"),
        ],
    )
    submit = SubmitField("Withdraw claim", widget=GovSubmitInput())


def _area_choices() -> dict[str, str]:
    regions = db.session.scalars(sa.select(Region).order_by(Region.name)).all()
    authorities = db.session.scalars(sa.select(LocalAuthority).order_by(LocalAuthority.name)).all()
    return {
        "": "Anywhere",
        **{f"region-{r.id}": r.name for r in regions},
        **{f"la-{la.la_code}": la.name for la in authorities},
    }


def _own_claim(claim_id: int, *, to_change: bool = False) -> Claim:
    claim = access.find_claim(db.session, current_user, claim_id, to_change=to_change)
    if claim is None:
        abort(404)
    return claim


def _claimable_cohort(cohort_id: int) -> Cohort:
    cohort = access.find_cohort(db.session, current_user, cohort_id)
    if cohort is None:
        abort(404)
    return cohort


@bp.get("/")
def home():
    return render_template("setting/home.html")


@bp.get("/cohorts")
def find_cohorts():
    setting = current_user.setting
    programmes = programmes_open_to(db.session, setting)
    form = CohortSearchForm(formdata=request.args if request.args else MultiDict())
    form.programme.choices = {"": "All programmes", **{p.code: p.name for p in programmes}}
    form.area.choices = _area_choices()
    search = CohortSearch(programme_ids=tuple(p.id for p in programmes))
    valid = form.validate()
    if valid:
        region_id = la_id = None
        kind, _, code = (form.area.data or "").partition("-")
        if kind == "region":
            region_id = int(code)
        elif kind == "la":
            la_id = db.session.scalar(
                sa.select(LocalAuthority.id).where(LocalAuthority.la_code == code)
            )
        chosen = [p.id for p in programmes if p.code == form.programme.data]
        search = CohortSearch(
            programme_ids=tuple(chosen) if form.programme.data else search.programme_ids,
            region_id=region_id,
            local_authority_id=la_id,
            starts_from=form.starts_from.data,
        )
    # Cohorts a claim would be funded in now come first, then those where it would wait;
    # soonest first within each. Open cohorts are few: all are read to order them.
    cohorts = list(db.session.scalars(open_cohorts(search))) if valid else []
    found = availability(db.session, cohorts, setting=setting)
    cohorts.sort(key=lambda cohort: found[cohort.id].blocker is not None)
    return render_template(
        "setting/cohorts.html",
        form=form,
        page=page_of(cohorts, per_page=COHORTS_PER_PAGE),
        found=found,
        programmes=programmes,
        at_limit=_programmes_at_setting_limit(programmes),
    )


def _programmes_at_setting_limit(programmes) -> list:
    """The programmes on which the setting holds as many funded places as it may."""
    room = places_setting_may_add(db.session, current_user.setting, programmes)
    return [p for p in programmes if room.get(p.id) == 0]


@bp.route("/cohorts/<int(max=2147483647):cohort_id>/claim", methods=["GET", "POST"])
def claim_place(cohort_id: int):
    cohort = _claimable_cohort(cohort_id)
    form = ClaimForm()
    if form.validate_on_submit():
        outcome = commit_or_show(
            form,
            lambda: places.claim_place(
                db.session,
                cohort,
                full_name=form.full_name.data,
                email=form.email.data,
                trn=form.trn.data,
                setting=current_user.setting,
                by=current_user,
            ),
            default_field="full_name",
        )
        if outcome is not None:
            claim = outcome.claim
            if claim.status == ClaimStatus.FUNDED:
                flash(f"{claim.full_name} has a funded place", "success")
            elif claim.waiting_reason == places.SETTING:
                # Not a place in the queue: it waits for one of the setting's own places.
                flash(
                    f"{claim.full_name} is waiting: your setting holds as many"
                    f" funded places on {cohort.programme.name} as it may"
                    f" ({cohort.programme.places_per_setting}). The claim is funded when"
                    " one of them ends.",
                    "info",
                )
            else:
                reason = places.WAITING_REASONS.get(claim.waiting_reason or "")
                flash(
                    f"{claim.full_name} is number {outcome.waiting_position}"
                    " on the waiting list." + (f" {reason}." if reason else ""),
                    "info",
                )
            return redirect(url_for("setting.claim", claim_id=claim.id))
    setting = current_user.setting
    programme = cohort.programme
    return render_template(
        "setting/claim_place.html",
        form=form,
        cohort=cohort,
        found=availability(db.session, [cohort], setting=setting)[cohort.id],
        held=places_held_by_setting(db.session, setting, [programme]).get(programme.id, 0),
        limit=programme.places_per_setting,
    )


@bp.get("/claims")
def claims():
    query = (
        access.claims(db.session, current_user)
        .options(*CLAIM_ROW_LOADS)
        .order_by(Claim.claimed_dt.desc(), Claim.id.desc())
    )
    page = paginate(query, per_page=CLAIMS_PER_PAGE)
    return render_template(
        "setting/claims.html",
        page=page,
        declared=milestones_declared(db.session, [c.id for c in page.items]),
        positions=waiting_positions(db.session, page.items),
        status_labels=STATUS_LABELS,
    )


@bp.get("/claims/<int(max=2147483647):claim_id>")
def claim(claim_id: int):
    claim = _own_claim(claim_id)
    return render_template(
        "setting/claim.html",
        claim=claim,
        position=places.waiting_position(db.session, claim),
        waiting_reason=places.WAITING_REASONS.get(claim.waiting_reason or ""),
        declarations=[d for d in claim.declarations if not d.is_voided],
        status_labels=STATUS_LABELS,
    )


@bp.route("/claims/<int(max=2147483647):claim_id>/withdraw", methods=["GET", "POST"])
def withdraw(claim_id: int):
    claim = _own_claim(claim_id, to_change=True)
    if not claim.is_live:
        flash(f"This claim is already {claim.status.value}", "info")
        return redirect(url_for("setting.claim", claim_id=claim.id))
    form = WithdrawForm()
    if form.validate_on_submit() and commit_or_show(
        form,
        lambda: places.withdraw(db.session, claim, reason=form.reason.data, by=current_user),
        default_field="reason",
    ):
        flash(f"The claim for {claim.full_name} has been withdrawn", "success")
        return redirect(url_for("setting.claim", claim_id=claim.id))
    return render_template("setting/withdraw.html", form=form, claim=claim)
