"""Pages for training providers: their cohorts, participants and declarations.

A provider sees only its own records: every cohort and claim is loaded through its
scope in ``tracker.access`` (``_own_cohort``, ``_own_claim``), so anyone else's is not
found (404).
"""

import sqlalchemy as sa
from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm import selectinload

from tracker import access, figures, imports, places, progress
from tracker import cohorts as cohort_rules
from tracker.access import require_role
from tracker.claim_progress import STATUS_LABELS
from tracker.errors import DomainError
from tracker.extensions import db
from tracker.formats import long_date
from tracker.input_guard import MAX_ID
from tracker.models import (
    Allocation,
    Claim,
    ClaimStatus,
    Cohort,
    CohortStatus,
    Declaration,
    Milestone,
    Programme,
    Role,
    Setting,
)
from tracker.web import forms
from tracker.web.forms import ConfirmForm, commit_or_show
from tracker.web.provider_forms import (
    BulkDeclarationForm,
    CohortForm,
    DeclarationForm,
    EditCohortForm,
    EndClaimForm,
    EnrolForm,
    MoveForm,
    ResumeForm,
    UploadForm,
)

bp = Blueprint("provider", __name__, url_prefix="/provider")
bp.before_request(require_role(Role.PROVIDER))

PARTICIPANTS_PER_PAGE = 50
# Problems listed on the page after a refused upload; the rest are counted.
PROBLEMS_SHOWN = 100
MAX_PAGE = 100_000

WITHDRAWAL_REASONS = {
    "personal": "Personal or family reasons",
    "workload": "Workload or time",
    "left-role": "Left their role or setting",
    "health": "Health",
    "not-eligible": "Found not to be eligible",
    "other": "Another reason",
}
DEFERRAL_REASONS = {
    "personal": "Personal or family reasons",
    "parental-leave": "Parental leave",
    "health": "Health",
    "workload": "Workload or time",
    "other": "Another reason",
}


@bp.app_template_filter("claim_status")
def claim_status_label(status: ClaimStatus) -> str:
    return STATUS_LABELS[status]


# -- loading only the provider's own records ---------------------------------------------


def _own_cohort(cohort_id: int) -> Cohort:
    cohort = access.find_cohort(db.session, current_user, cohort_id, to_change=True)
    if cohort is None:
        abort(404)
    return cohort


def _own_claim(claim_id: int) -> Claim:
    claim = access.find_claim(db.session, current_user, claim_id, to_change=True)
    if claim is None:
        abort(404)
    return claim


def _own_cohorts() -> sa.Select:
    return access.cohorts(db.session, current_user, to_change=True)


def _page_number() -> int:
    page = request.args.get("page", 1, type=int)
    return page if 1 <= page <= MAX_PAGE else 1


def _counts(cohort_ids: list[int]) -> dict[int, tuple[int, int]]:
    """Funded places and waiting claims of each cohort."""
    return {
        cohort_id: (f.funded, f.waiting)
        for cohort_id, f in figures.by_cohort(db.session, cohort_ids=cohort_ids).items()
    }


def _allocations() -> list[dict]:
    """The provider's allocation on each programme, with the funded places used and left."""
    provider_id = current_user.provider_id
    rows = db.session.scalars(
        sa.select(Allocation)
        .join(Programme)
        .where(Allocation.provider_id == provider_id)
        .options(selectinload(Allocation.programme))
        .order_by(Programme.name)
    ).all()
    used = {
        programme_id: f.funded
        for (_, programme_id), f in figures.by_provider(db.session, provider_id=provider_id).items()
    }
    return [
        {
            "programme": a.programme,
            "places": a.places,
            "used": used.get(a.programme_id, 0),
            "left": figures.room(a.places, used.get(a.programme_id, 0)),
        }
        for a in rows
    ]


# -- cohorts -----------------------------------------------------------------------------


@bp.get("/")
def home():
    return render_template("provider/home.html", allocations=_allocations())


@bp.get("/cohorts")
def cohorts():
    rows = db.session.scalars(
        _own_cohorts()
        .options(selectinload(Cohort.programme))
        .order_by(Cohort.starts_on.desc(), Cohort.name)
    ).all()
    return render_template(
        "provider/cohorts.html",
        cohorts=rows,
        counts=_counts([c.id for c in rows]),
        allocations=_allocations(),
    )


@bp.route("/cohorts/new", methods=["GET", "POST"])
def create_cohort():
    allocations = _allocations()
    form = CohortForm()
    form.programme.choices = [(a["programme"].code, a["programme"].name) for a in allocations]
    if form.validate_on_submit():
        programme = db.session.scalar(
            sa.select(Programme).where(Programme.code == form.programme.data)
        )
        cohort = commit_or_show(
            form,
            lambda: cohort_rules.create_cohort(
                db.session,
                current_user.provider,
                programme,
                name=form.name.data,
                starts_on=form.starts_on.data,
                ends_on=form.ends_on.data,
                places=form.places.data,
            ),
            default_field="name",
        )
        if cohort is not None:
            flash(f"Cohort {cohort.name} created", "success")
            return redirect(url_for("provider.cohort", cohort_id=cohort.id))
    return render_template("provider/cohort_form.html", form=form, allocations=allocations)


@bp.route("/cohorts/<int:cohort_id>/edit", methods=["GET", "POST"])
def edit_cohort(cohort_id: int):
    cohort = _own_cohort(cohort_id)
    form = EditCohortForm(obj=cohort)
    if form.validate_on_submit():
        updated = commit_or_show(
            form,
            lambda: cohort_rules.update_cohort(
                db.session,
                cohort,
                name=form.name.data,
                starts_on=form.starts_on.data,
                ends_on=form.ends_on.data,
                places=form.places.data,
                status=cohort.status,
            ),
            default_field="name",
        )
        if updated is not None:
            flash(f"Cohort {cohort.name} saved", "success")
            return redirect(url_for("provider.cohort", cohort_id=cohort.id))
    allocations = [a for a in _allocations() if a["programme"].id == cohort.programme_id]
    return render_template(
        "provider/cohort_form.html", form=form, cohort=cohort, allocations=allocations
    )


@bp.route("/cohorts/<int:cohort_id>/close", methods=["GET", "POST"])
def close_cohort(cohort_id: int):
    cohort = _own_cohort(cohort_id)
    if cohort.status != CohortStatus.OPEN:
        abort(404)
    form = ConfirmForm()
    if form.validate_on_submit():
        done = commit_or_show(
            form,
            lambda: cohort_rules.update_cohort(
                db.session,
                cohort,
                name=cohort.name,
                starts_on=cohort.starts_on,
                ends_on=cohort.ends_on,
                places=cohort.places,
                status=CohortStatus.CLOSED,
            ),
            default_field="submit",
        )
        if done is not None:
            flash(f"Cohort {cohort.name} is closed to new participants", "success")
            return redirect(url_for("provider.cohort", cohort_id=cohort.id))
    return render_template(
        "provider/close_cohort.html",
        cohort=cohort,
        form=form,
        waiting=_counts([cohort.id]).get(cohort.id, (0, 0))[1],
    )


# -- a cohort's roster -------------------------------------------------------------------


def _last_declarations(claim_ids: list[int]) -> dict[int, Declaration]:
    if not claim_ids:
        return {}
    latest: dict[int, Declaration] = {}
    for declaration in db.session.scalars(
        sa.select(Declaration)
        .join(Milestone)
        .where(Declaration.claim_id.in_(claim_ids), Declaration.voided_dt.is_(None))
        .options(selectinload(Declaration.milestone))
        .order_by(Milestone.position)
    ):
        latest[declaration.claim_id] = declaration
    return latest


@bp.get("/cohorts/<int:cohort_id>")
def cohort(cohort_id: int):
    cohort = _own_cohort(cohort_id)
    status = request.args.get("status", "")
    search = request.args.get("q", "").replace("\x00", "").strip()[:200]
    query = (
        sa.select(Claim).where(Claim.cohort_id == cohort.id).options(selectinload(Claim.setting))
    )
    if status in {s.value for s in ClaimStatus}:
        query = query.where(Claim.status == ClaimStatus(status))
    else:
        status = ""
    if search:
        query = query.where(
            sa.or_(
                Claim.full_name.icontains(search, autoescape=True),
                Claim.email.icontains(search, autoescape=True),
                Claim.trn == search.replace(" ", ""),
            )
        )
    page = db.paginate(
        query.order_by(Claim.full_name, Claim.id),
        page=_page_number(),
        per_page=PARTICIPANTS_PER_PAGE,
        max_per_page=PARTICIPANTS_PER_PAGE,
        error_out=False,
    )
    claims = list(page.items)
    funded, waiting = _counts([cohort.id]).get(cohort.id, (0, 0))
    return render_template(
        "provider/cohort.html",
        cohort=cohort,
        page=page,
        claims=claims,
        positions=places.waiting_positions(db.session, claims),
        last_declarations=_last_declarations([c.id for c in claims]),
        funded=funded,
        waiting=waiting,
        status=status,
        search=search,
        statuses=STATUS_LABELS,
    )


# -- enrolment ---------------------------------------------------------------------------


def _open_cohort(cohort_id: int) -> Cohort:
    cohort = _own_cohort(cohort_id)
    if cohort.status != CohortStatus.OPEN:
        flash(f"{cohort.name} is not taking new participants", "info")
        abort(redirect(url_for("provider.cohort", cohort_id=cohort.id)))
    return cohort


@bp.route("/cohorts/<int:cohort_id>/enrol", methods=["GET", "POST"])
def enrol(cohort_id: int):
    cohort = _open_cohort(cohort_id)
    programme = cohort.programme
    form = EnrolForm()
    if form.validate_on_submit():
        urn = (form.setting.data or "").strip().upper()
        la_code = (form.local_authority.data or "").strip().upper()

        def claim():
            setting, area = imports.place_of_work(
                programme,
                urn=urn,
                la_code=la_code,
                setting=db.session.scalar(sa.select(Setting).where(Setting.urn == urn))
                if urn
                else None,
                local_authority=imports.local_authorities_by_code(db.session).get(la_code),
            )
            return places.claim_place(
                db.session,
                cohort,
                full_name=form.full_name.data,
                email=form.email.data,
                trn=form.trn.data,
                setting=setting,
                local_authority=area,
                by=current_user,
            )

        outcome = commit_or_show(form, claim, default_field="email")
        if outcome is not None:
            return redirect(url_for("provider.claim", claim_id=outcome.claim.id, enrolled=1))
    return render_template(
        "provider/enrol.html",
        cohort=cohort,
        form=form,
        uses_settings=imports.uses_settings(programme),
    )


@bp.get("/cohorts/<int:cohort_id>/template.csv")
def upload_template(cohort_id: int):
    cohort = _own_cohort(cohort_id)
    return Response(
        imports.template_csv(cohort.programme),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f"attachment; filename=participants-{cohort.programme.code}.csv"
        },
    )


@bp.route("/cohorts/<int:cohort_id>/upload", methods=["GET", "POST"])
def upload(cohort_id: int):
    cohort = _open_cohort(cohort_id)
    form = UploadForm()
    problems: list[imports.ImportProblem] = []
    if form.validate_on_submit():
        upload = form.file.data
        if not upload or not upload.filename:
            form.file.errors.append("Select a CSV file")
        else:
            # One byte more than allowed is enough to tell the file is too large.
            with upload.stream as stream:
                data = stream.read(imports.MAX_BYTES + 1)
            try:
                made = imports.import_enrolments(db.session, cohort, data, by=current_user)
            except imports.ImportRefused as refused:
                forms.discard()
                problems = refused.problems
                form.file.errors.append(
                    f"The file has {len(problems):,} problem{'s' if len(problems) != 1 else ''}:"
                    " nothing was imported"
                )
            else:
                funded = sum(claim.status == ClaimStatus.FUNDED for claim in made)
                forms.save()
                flash(
                    f"{len(made):,} participants enrolled: {funded:,} funded,"
                    f" {len(made) - funded:,} waiting",
                    "success",
                )
                return redirect(url_for("provider.cohort", cohort_id=cohort.id))
    return render_template(
        "provider/upload.html",
        cohort=cohort,
        form=form,
        problems=problems[:PROBLEMS_SHOWN],
        problems_not_shown=max(len(problems) - PROBLEMS_SHOWN, 0),
        columns=imports.template_columns(cohort.programme),
        uses_settings=imports.uses_settings(cohort.programme),
        max_rows=imports.MAX_ROWS,
        max_megabytes=imports.MAX_BYTES // (1024 * 1024),
    )


# -- declarations ------------------------------------------------------------------------


def _milestone_choices(programme: Programme) -> list[tuple[str, str]]:
    return [(m.code, m.name) for m in programme.milestones]


def _claim_ids(values: list[str]) -> list[int]:
    return sorted({int(v) for v in values if v.isdigit() and len(v) < 11 and int(v) <= MAX_ID})


@bp.route("/cohorts/<int:cohort_id>/declarations", methods=["GET", "POST"])
def declare_many(cohort_id: int):
    """Record one milestone for many participants of a cohort: all of them, or none."""
    cohort = _own_cohort(cohort_id)
    source = request.form if request.method == "POST" else request.args
    ids = _claim_ids(source.getlist("claims"))
    claims = (
        db.session.scalars(
            sa.select(Claim)
            .where(Claim.id.in_(ids), Claim.cohort_id == cohort.id)
            .order_by(Claim.full_name, Claim.id)
        ).all()
        if ids
        else []
    )
    if len(claims) != len(ids):
        abort(404)
    form = BulkDeclarationForm()
    form.milestone.choices = _milestone_choices(cohort.programme)
    form.claims.choices = [(str(c.id), c.full_name) for c in claims]
    if request.method == "GET":
        form.claims.data = [str(c.id) for c in claims]
    failures: list[tuple[Claim, str]] = []
    if request.method == "POST" and form.validate_on_submit():
        for claim in claims:
            try:
                progress.record_declaration(
                    db.session,
                    claim,
                    milestone_code=form.milestone.data,
                    declared_on=form.declared_on.data,
                    by=current_user,
                )
            except DomainError as error:
                failures.append((claim, error.message))
        if failures:
            forms.discard()
            form.claims.errors.append(
                f"{len(failures)} of {len(claims)} declarations cannot be recorded, so none was:"
                " untick the participants named, or fix the milestone or date"
            )
        else:
            forms.save()
            milestone = dict(form.milestone.choices)[form.milestone.data]
            flash(f"{milestone} recorded for {len(claims)} participants", "success")
            return redirect(url_for("provider.cohort", cohort_id=cohort.id))
    return render_template(
        "provider/declare_many.html",
        cohort=cohort,
        claims=claims,
        form=form,
        failures=failures,
    )


@bp.get("/claims/<int:claim_id>")
def claim(claim_id: int):
    claim = _own_claim(claim_id)
    return render_template(
        "provider/claim.html",
        claim=claim,
        position=places.waiting_position(db.session, claim),
        reason=places.WAITING_REASONS.get(claim.waiting_reason or ""),
        just_enrolled=request.args.get("enrolled") == "1",
        declarations=[d for d in claim.declarations if not d.is_voided],
    )


@bp.route("/claims/<int:claim_id>/declare", methods=["GET", "POST"])
def declare(claim_id: int):
    claim = _own_claim(claim_id)
    form = DeclarationForm()
    form.milestone.choices = _milestone_choices(claim.programme)
    if form.validate_on_submit():
        declaration = commit_or_show(
            form,
            lambda: progress.record_declaration(
                db.session,
                claim,
                milestone_code=form.milestone.data,
                declared_on=form.declared_on.data,
                by=current_user,
            ),
            default_field="milestone",
        )
        if declaration is not None:
            flash(f"{declaration.milestone.name} recorded", "success")
            return redirect(url_for("provider.claim", claim_id=claim.id))
    return render_template("provider/declare.html", claim=claim, form=form)


# -- withdrawal, deferral, moving --------------------------------------------------------


def _end_claim(claim_id: int, *, operation, reasons: dict[str, str], noun: str, done: str):
    claim = _own_claim(claim_id)
    form = EndClaimForm()
    form.reason.choices = list(reasons.items())
    if form.validate_on_submit():
        if form.reason.data == "other" and not form.reason_text():
            form.other_reason.errors.append(f"Give the reason for the {noun}")
        else:
            outcome = commit_or_show(
                form,
                lambda: operation(db.session, claim, reason=form.reason_text(), by=current_user),
                default_field="reason",
            )
            if outcome is not None:
                message = f"{claim.full_name} {done}"
                if outcome.promoted:
                    count = len(outcome.promoted)
                    message += f"; {count} waiting participant{'s' if count != 1 else ''} funded"
                flash(message, "success")
                return redirect(url_for("provider.claim", claim_id=claim.id))
    return render_template("provider/end_claim.html", claim=claim, form=form, noun=noun)


@bp.route("/claims/<int:claim_id>/withdraw", methods=["GET", "POST"])
def withdraw(claim_id: int):
    return _end_claim(
        claim_id,
        operation=places.withdraw,
        reasons=WITHDRAWAL_REASONS,
        noun="withdrawal",
        done="has been withdrawn",
    )


@bp.route("/claims/<int:claim_id>/defer", methods=["GET", "POST"])
def defer(claim_id: int):
    return _end_claim(
        claim_id,
        operation=places.defer,
        reasons=DEFERRAL_REASONS,
        noun="deferral",
        done="has been deferred",
    )


@bp.route("/claims/<int:claim_id>/move", methods=["GET", "POST"])
def move(claim_id: int):
    claim = _own_claim(claim_id)
    others = db.session.scalars(
        _own_cohorts()
        .where(
            Cohort.programme_id == claim.programme_id,
            Cohort.status == CohortStatus.OPEN,
            Cohort.id != claim.cohort_id,
        )
        .order_by(Cohort.starts_on, Cohort.name)
    ).all()
    form = MoveForm()
    form.cohort.choices = [
        (str(c.id), f"{c.name}, starting {long_date(c.starts_on)}") for c in others
    ]
    if form.validate_on_submit():
        to_cohort = next(c for c in others if str(c.id) == form.cohort.data)
        outcome = commit_or_show(
            form,
            lambda: places.move_claim(db.session, claim, to_cohort, by=current_user),
            default_field="cohort",
        )
        if outcome is not None:
            state = "funded" if claim.status == ClaimStatus.FUNDED else "waiting"
            flash(f"{claim.full_name} moved to {to_cohort.name}: {state}", "success")
            return redirect(url_for("provider.claim", claim_id=claim.id))
    return render_template("provider/move.html", claim=claim, form=form, others=others)


@bp.route("/claims/<int:claim_id>/resume", methods=["GET", "POST"])
def resume(claim_id: int):
    claim = _own_claim(claim_id)
    if claim.status != ClaimStatus.DEFERRED:
        abort(404)
    in_training = claim.started_dt is not None
    # In training, a participant may go back to their own cohort, closed or not; otherwise
    # they join an open cohort's waiting list.
    allowed = (CohortStatus.OPEN, CohortStatus.CLOSED) if in_training else (CohortStatus.OPEN,)
    cohorts = db.session.scalars(
        _own_cohorts()
        .where(
            Cohort.programme_id == claim.programme_id,
            sa.or_(Cohort.status.in_(allowed), Cohort.id == claim.cohort_id),
            Cohort.status != CohortStatus.CANCELLED,
        )
        .order_by(Cohort.starts_on, Cohort.name)
    ).all()
    form = ResumeForm()
    form.cohort.choices = [
        (str(c.id), f"{c.name}, starting {long_date(c.starts_on)}") for c in cohorts
    ]
    if request.method == "GET" and any(c.id == claim.cohort_id for c in cohorts):
        form.cohort.data = str(claim.cohort_id)
    if form.validate_on_submit():
        to_cohort = next(c for c in cohorts if str(c.id) == form.cohort.data)
        outcome = commit_or_show(
            form,
            lambda: places.resume(db.session, claim, to_cohort=to_cohort, by=current_user),
            default_field="cohort",
        )
        if outcome is not None:
            state = {
                ClaimStatus.STARTED: "back in training",
                ClaimStatus.FUNDED: "funded",
            }.get(claim.status, f"number {outcome.waiting_position} on the waiting list")
            flash(f"{claim.full_name} resumed in {to_cohort.name}: {state}", "success")
            return redirect(url_for("provider.claim", claim_id=claim.id))
    return render_template(
        "provider/resume.html",
        claim=claim,
        form=form,
        cohorts=cohorts,
        in_training=in_training,
    )
