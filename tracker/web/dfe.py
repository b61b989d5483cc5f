"""Pages for DfE staff: targets, allocations, every cohort, conflicting participant details,
the audit trail and the sign-in history."""

import re
from datetime import timedelta

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovSelect, GovSubmitInput, GovTextArea, GovTextInput
from sqlalchemy.orm import contains_eager, joinedload, selectinload
from werkzeug.datastructures import MultiDict
from wtforms import SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length, ValidationError

from tracker import figures
from tracker import participants as participant_rules
from tracker import programmes as programme_rules
from tracker import publication as publication_rules
from tracker.access import require_role
from tracker.extensions import db
from tracker.formats import london_midnight, long_date
from tracker.models import (
    Allocation,
    AuditEvent,
    Claim,
    ClaimStatus,
    Cohort,
    CohortStatus,
    ParticipantConflict,
    Programme,
    ProgrammeTarget,
    Provider,
    RegionQuota,
    Role,
    SignInAttempt,
)
from tracker.participants import normalise_email
from tracker.places import current_target
from tracker.sign_ins import OUTCOME_LABELS
from tracker.uptake import london_today
from tracker.web import audit_trail, forms
from tracker.web.fields import GovDateField, PlacesField, PlainText, paginate
from tracker.web.forms import commit_or_show

bp = Blueprint("dfe", __name__, url_prefix="/dfe")
bp.before_request(require_role(Role.DFE))

COHORTS_PER_PAGE = 25
AUDIT_EVENTS_PER_PAGE = 50
SIGN_IN_ATTEMPTS_PER_PAGE = 50
CONFLICTS_PER_PAGE = 50


# -- forms ---------------------------------------------------------------------------------


class TargetForm(FlaskForm):
    places = PlacesField("Places", description="The national number of funded places.")
    effective_on = GovDateField(
        "Date the target takes effect",
        description="For example, 1 9 2025",
        required="Enter the date the target takes effect",
    )
    note = TextAreaField(
        "Why the target changed",
        widget=GovTextArea(),
        description="For example, the announcement or agreement that set it.",
        validators=[
            InputRequired("Enter a note saying why the target changed"),
            Length(max=2000, message="The note must be 2,000 characters or fewer"),
            PlainText("The note must not contain special characters"),
        ],
    )
    submit = SubmitField("Save target", widget=GovSubmitInput())


class AllocationForm(FlaskForm):
    provider = StringField(
        "Provider UKPRN",
        widget=GovTextInput(),
        description="8 digits, starting with 1.",
        validators=[
            InputRequired("Enter the provider's UKPRN"),
            PlainText("Enter a UKPRN of 8 digits, starting with 1"),
        ],
    )
    places = PlacesField("Places", description="Places the provider may fill on the programme.")
    submit = SubmitField("Save allocation", widget=GovSubmitInput())


class QuotaForm(FlaskForm):
    places = PlacesField("Places", description="Funded places the regions' claims may hold.")
    submit = SubmitField("Save places", widget=GovSubmitInput())


class PublishForm(FlaskForm):
    """Publish the public uptake figures now: a button, and its CSRF token."""

    submit = SubmitField("Publish the figures", widget=GovSubmitInput())


class FilterForm(FlaskForm):
    """Filters sent by GET: no CSRF token, nothing changes."""

    class Meta:
        csrf = False

    submit = SubmitField("Apply filters", widget=GovSubmitInput())


class CohortFilterForm(FilterForm):
    programme = SelectField(
        "Programme",
        widget=GovSelect(),
        default="",
        invalid_choice_message="Select a programme from the list",
    )
    provider = SelectField(
        "Provider",
        widget=GovSelect(),
        default="",
        invalid_choice_message="Select a provider from the list",
    )
    status = SelectField(
        "Status",
        widget=GovSelect(),
        default="",
        invalid_choice_message="Select a status from the list",
        choices={"": "Any status", **{s.value: s.value.capitalize() for s in CohortStatus}},
    )


class AuditFilterForm(FilterForm):
    entity_type = SelectField(
        "Record",
        widget=GovSelect(),
        default="",
        invalid_choice_message="Select a record from the list",
    )
    action = SelectField(
        "Action",
        widget=GovSelect(),
        default="",
        invalid_choice_message="Select an action from the list",
        choices={"": "Any action", **audit_trail.ACTIONS},
    )
    actor = StringField(
        "Made by",
        widget=GovTextInput(),
        description="An email address, or part of one.",
        validators=[
            Length(max=254, message="Made by must be 254 characters or fewer"),
            PlainText("Made by must not contain special characters"),
        ],
    )
    occurred_from = GovDateField("From")
    occurred_to = GovDateField("To")

    def validate_occurred_to(self, field):
        if field.data and self.occurred_from.data and field.data < self.occurred_from.data:
            raise ValidationError("To must be the same as or after from")


class SignInFilterForm(FilterForm):
    email = StringField(
        "Email address",
        widget=GovTextInput(),
        description="The whole email address.",
        validators=[
            Length(max=254, message="Email address must be 254 characters or fewer"),
            PlainText("Email address must not contain special characters"),
        ],
    )
    outcome = SelectField(
        "Outcome",
        widget=GovSelect(),
        default="",
        invalid_choice_message="Select an outcome from the list",
        choices={"": "Any outcome", **OUTCOME_LABELS},
    )


class ResolveConflictForm(FlaskForm):
    note = TextAreaField(
        "What was done",
        widget=GovTextArea(),
        description=(
            "For example, which organisation's details are right, and who corrected theirs."
        ),
        validators=[
            InputRequired("Enter what was done to resolve the conflict"),
            Length(max=2000, message="The note must be 2,000 characters or fewer"),
            PlainText("The note must not contain special characters"),
        ],
    )
    submit = SubmitField("Mark as resolved", widget=GovSubmitInput())


def _filters(form_class, **choices):
    form = form_class(formdata=request.args if request.args else MultiDict())
    for name, values in choices.items():
        form[name].choices = values
    return form


PROGRAMME_CODE = re.compile(r"^[a-z0-9-]{1,20}$")


def _programme(code: str) -> Programme:
    if not PROGRAMME_CODE.match(code):
        abort(404)
    programme = db.session.scalar(sa.select(Programme).where(Programme.code == code))
    if programme is None:
        abort(404)
    return programme


def _programmes() -> list[Programme]:
    return list(db.session.scalars(sa.select(Programme).order_by(Programme.name)))


# -- pages ---------------------------------------------------------------------------------


@bp.get("/")
def home():
    return render_template("dfe/home.html")


@bp.get("/programmes")
def programmes():
    programmes = _programmes()
    used = {programme_id: f.funded for programme_id, f in figures.by_programme(db.session).items()}
    targets = {p.id: current_target(db.session, p.id) for p in programmes}
    return render_template("dfe/programmes.html", programmes=programmes, used=used, targets=targets)


@bp.get("/programmes/<code>")
def programme(code: str):
    programme = _programme(code)
    history = db.session.scalars(
        sa.select(ProgrammeTarget)
        .where(ProgrammeTarget.programme_id == programme.id)
        .order_by(ProgrammeTarget.effective_on.desc(), ProgrammeTarget.id.desc())
    ).all()
    quotas = db.session.scalars(
        sa.select(RegionQuota)
        .where(RegionQuota.programme_id == programme.id)
        .options(selectinload(RegionQuota.regions))
        .order_by(RegionQuota.name, RegionQuota.id)
    ).all()
    held = programme_rules.places_held_under_quotas(db.session, programme) if quotas else {}
    return render_template(
        "dfe/programme.html",
        programme=programme,
        target=current_target(db.session, programme.id),
        used=figures.by_programme(db.session, figures.Scope(programme_id=programme.id))
        .get(programme.id, figures.Figures())
        .funded,
        history=history,
        quotas=[(quota, held.get(quota.id, 0)) for quota in quotas],
    )


@bp.route("/programmes/<code>/quotas/<int(max=2147483647):quota_id>", methods=["GET", "POST"])
def change_quota(code: str, quota_id: int):
    programme = _programme(code)
    quota = db.session.get(RegionQuota, quota_id)
    if quota is None or quota.programme_id != programme.id:
        abort(404)
    form = QuotaForm()
    if request.method == "GET":
        form.places.data = quota.places
    if form.validate_on_submit() and commit_or_show(
        form,
        lambda: programme_rules.set_region_quota(
            db.session, quota, places=form.places.data, by=current_user
        ),
        default_field="places",
    ):
        flash(f"{quota.name} may hold {quota.places:,} places on {programme.name}", "success")
        return redirect(url_for("dfe.programme", code=programme.code))
    return render_template(
        "dfe/change_quota.html",
        form=form,
        programme=programme,
        quota=quota,
        held=programme_rules.quota_places_held(db.session, quota),
    )


@bp.route("/programmes/<code>/target", methods=["GET", "POST"])
def change_target(code: str):
    programme = _programme(code)
    form = TargetForm()
    if form.validate_on_submit():
        target = commit_or_show(
            form,
            lambda: programme_rules.set_target(
                db.session,
                programme,
                places=form.places.data,
                effective_on=form.effective_on.data,
                note=form.note.data,
                by=current_user,
            ),
            default_field="places",
        )
        if target is not None:
            flash(
                f"Target for {programme.name} set to {target.places:,} places"
                f" from {long_date(target.effective_on)}",
                "success",
            )
            return redirect(url_for("dfe.programme", code=programme.code))
    return render_template(
        "dfe/change_target.html",
        form=form,
        programme=programme,
        target=current_target(db.session, programme.id),
    )


@bp.get("/programmes/<code>/allocations")
def allocations(code: str):
    programme = _programme(code)
    rows = db.session.execute(
        sa.select(Allocation, Provider)
        .join(Provider, Allocation.provider_id == Provider.id)
        .where(Allocation.programme_id == programme.id)
        .order_by(Provider.name, Provider.id)
    ).all()
    used = {
        provider_id: f.funded
        for (provider_id, _), f in figures.by_provider(
            db.session, figures.Scope(programme_id=programme.id)
        ).items()
    }
    return render_template(
        "dfe/allocations.html",
        programme=programme,
        rows=rows,
        used=used,
        target=current_target(db.session, programme.id),
    )


@bp.route("/programmes/<code>/allocations/set", methods=["GET", "POST"])
def set_allocation(code: str):
    programme = _programme(code)
    form = AllocationForm()
    if request.method == "GET" and request.args.get("ukprn"):
        provider = _provider(request.args["ukprn"])
        if provider is None:
            abort(404)
        form.provider.data = provider.ukprn
        form.places.data = db.session.scalar(
            sa.select(Allocation.places).where(
                Allocation.provider_id == provider.id, Allocation.programme_id == programme.id
            )
        )
    if form.validate_on_submit():
        provider = _provider(form.provider.data)
        if provider is None:
            form.provider.errors.append(f"No provider has UKPRN {form.provider.data.strip()}")
        else:
            allocation = commit_or_show(
                form,
                lambda: programme_rules.set_allocation(
                    db.session, provider, programme, places=form.places.data
                ),
                default_field="places",
            )
            if allocation is not None:
                flash(
                    f"{provider.name} may fill {allocation.places:,} places on {programme.name}",
                    "success",
                )
                return redirect(url_for("dfe.allocations", code=programme.code))
    return render_template(
        "dfe/set_allocation.html",
        form=form,
        programme=programme,
        target=current_target(db.session, programme.id),
    )


def _provider(ukprn: str) -> Provider | None:
    ukprn = (ukprn or "").strip()
    if not (len(ukprn) == 8 and ukprn.isascii() and ukprn.isdigit()):
        return None
    return db.session.scalar(sa.select(Provider).where(Provider.ukprn == ukprn))


@bp.get("/publication")
def publication():
    """The public uptake figures: what was published last, and when the next are due."""
    return render_template(
        "dfe/publication.html",
        snapshot=publication_rules.latest(db.session),
        this_week=publication_rules.of_week(db.session, london_today()),
        next_publication=publication_rules.next_publication(db.session),
    )


@bp.route("/publication/publish", methods=["GET", "POST"])
def publish():
    """Publish the public figures now, after a confirmation: once a week at most."""
    form = PublishForm()
    this_week = publication_rules.of_week(db.session, london_today())
    if this_week is None and form.validate_on_submit():
        published = publication_rules.publish(db.session, by=current_user.email)
        forms.save()
        if published.created:
            flash(
                "Published the public uptake figures for "
                f"{long_date(published.snapshot.figures_on)}",
                "success",
            )
        return redirect(url_for("dfe.publication"))
    if this_week is not None and request.method == "POST":
        return redirect(url_for("dfe.publication"))
    return render_template(
        "dfe/publish.html",
        form=form,
        this_week=this_week,
        next_publication=publication_rules.next_publication(db.session),
        after_this=publication_rules.scheduled_in_week(london_today() + timedelta(days=7)),
    )


@bp.get("/cohorts")
def cohorts():
    programmes = _programmes()
    providers = db.session.scalars(sa.select(Provider).order_by(Provider.name)).all()
    form = _filters(
        CohortFilterForm,
        programme={"": "All programmes", **{p.code: p.name for p in programmes}},
        provider={"": "All providers", **{p.ukprn: p.name for p in providers}},
    )
    query = (
        sa.select(Cohort)
        .join(Provider)
        .join(Programme)
        .options(contains_eager(Cohort.provider), contains_eager(Cohort.programme))
    )
    if form.validate():
        if form.programme.data:
            query = query.where(Programme.code == form.programme.data)
        if form.provider.data:
            query = query.where(Provider.ukprn == form.provider.data)
        if form.status.data:
            query = query.where(Cohort.status == CohortStatus(form.status.data))
    else:
        query = query.where(sa.false())
    page = paginate(
        query.order_by(Cohort.starts_on.desc(), Cohort.name, Cohort.id),
        per_page=COHORTS_PER_PAGE,
    )
    ids = [c.id for c in page.items]
    counted = figures.by_cohort(db.session, cohort_ids=ids)
    funded = {i: f.funded for i, f in counted.items()}
    waiting = {i: f.waiting for i, f in counted.items()}
    return render_template("dfe/cohorts.html", form=form, page=page, funded=funded, waiting=waiting)


@bp.get("/cohorts/<int(max=2147483647):cohort_id>")
def cohort(cohort_id: int):
    cohort = db.get_or_404(Cohort, cohort_id)
    counted = figures.by_cohort(db.session, cohort_ids=[cohort.id]).get(
        cohort.id, figures.Figures()
    )
    return render_template(
        "dfe/cohort.html",
        cohort=cohort,
        counts=counted.by_status(),
        funded=counted.funded,
        statuses=list(ClaimStatus),
        status_figures={s: figures.DEFINITIONS[n] for s, n in figures.STATUS_FIGURES.items()},
    )


@bp.get("/participants/conflicts")
def conflicts():
    resolved = request.args.get("show") == "resolved"
    page = paginate(
        participant_rules.conflicts_query(resolved=resolved), per_page=CONFLICTS_PER_PAGE
    )
    return render_template("dfe/conflicts.html", page=page, resolved=resolved)


@bp.route("/participants/conflicts/<int(max=2147483647):conflict_id>", methods=["GET", "POST"])
def conflict(conflict_id: int):
    conflict = db.get_or_404(ParticipantConflict, conflict_id)
    form = ResolveConflictForm()
    if (
        not conflict.is_resolved
        and form.validate_on_submit()
        and commit_or_show(
            form,
            lambda: participant_rules.resolve_conflict(
                db.session, conflict, note=form.note.data, by=current_user
            ),
            default_field="note",
        )
    ):
        flash(f"Conflict {conflict.id} marked as resolved", "success")
        return redirect(url_for("dfe.conflicts"))
    # Every claim for the person, with the details each gives: DfE sees every copy.
    claims = db.session.scalars(
        sa.select(Claim)
        .where(Claim.participant_id == conflict.participant_id)
        .options(
            contains_eager(Claim.cohort).joinedload(Cohort.provider),
            joinedload(Claim.setting),
            joinedload(Claim.programme),
        )
        .join(Cohort, Claim.cohort_id == Cohort.id)
        .order_by(Claim.claimed_dt, Claim.id)
    ).all()
    return render_template("dfe/conflict.html", conflict=conflict, claims=claims, form=form)


@bp.get("/audit")
def audit():
    entity_types = db.session.scalars(
        sa.select(AuditEvent.entity_type).distinct().order_by(AuditEvent.entity_type)
    ).all()
    form = _filters(
        AuditFilterForm,
        entity_type={"": "Any record", **{t: audit_trail.record_label(t) for t in entity_types}},
    )
    query = sa.select(AuditEvent)
    if form.validate():
        if form.entity_type.data:
            query = query.where(AuditEvent.entity_type == form.entity_type.data)
        if form.action.data:
            query = query.where(AuditEvent.action == form.action.data)
        actor = (form.actor.data or "").strip()
        if actor:
            query = query.where(AuditEvent.actor.icontains(actor, autoescape=True))
        if form.occurred_from.data:
            query = query.where(AuditEvent.occurred_dt >= london_midnight(form.occurred_from.data))
        if form.occurred_to.data:
            end = london_midnight(form.occurred_to.data + timedelta(days=1))
            query = query.where(AuditEvent.occurred_dt < end)
    else:
        query = query.where(sa.false())
    page = paginate(
        query.order_by(AuditEvent.occurred_dt.desc(), AuditEvent.id.desc()),
        per_page=AUDIT_EVENTS_PER_PAGE,
    )
    return render_template(
        "dfe/audit.html",
        form=form,
        page=page,
        names=audit_trail.RecordNames(db.session, page.items),
    )


@bp.get("/sign-ins")
def sign_ins():
    form = _filters(SignInFilterForm)
    query = sa.select(SignInAttempt)
    if form.validate():
        email = normalise_email(form.email.data or "")
        if email:
            query = query.where(SignInAttempt.email == email)
        if form.outcome.data:
            query = query.where(SignInAttempt.outcome == form.outcome.data)
    else:
        query = query.where(sa.false())
    page = paginate(
        query.order_by(SignInAttempt.attempted_dt.desc(), SignInAttempt.id.desc()),
        per_page=SIGN_IN_ATTEMPTS_PER_PAGE,
    )
    return render_template("dfe/sign_ins.html", form=form, page=page, outcomes=OUTCOME_LABELS)
