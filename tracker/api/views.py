"""The API's resources: each route checks input by schema, calls one domain function, answers."""

import logging
from datetime import date
from http import HTTPStatus

import marshmallow as ma
import sqlalchemy as sa
from flask import current_app, g, request, url_for
from sqlalchemy.orm import selectinload

from tracker import access, cohorts, figures, places, progress
from tracker.accounts import find_local_authority
from tracker.api import API_PREFIX
from tracker.api.auth import authenticate, current_user, is_dfe, rate_limit_key, require_dfe
from tracker.api.paging import PagedBlueprint, list_page
from tracker.api.problems import ApiProblem, register_handlers
from tracker.api.schemas import (
    ClaimCreateSchema,
    CohortCreateSchema,
    CohortPageSchema,
    CohortQuerySchema,
    CohortSchema,
    CohortUpdateSchema,
    DeclarationCreateSchema,
    DeclarationSchema,
    DeferralSchema,
    EnrolmentPageSchema,
    EnrolmentQuerySchema,
    EnrolmentSchema,
    ProgrammeListSchema,
    ResumptionSchema,
    SettingPageSchema,
    SettingQuerySchema,
    UptakeListSchema,
    WithdrawalSchema,
)
from tracker.api.writes import IDEMPOTENCY_PARAMETER, write
from tracker.extensions import db, limiter
from tracker.models import (
    Claim,
    ClaimStatus,
    Cohort,
    CohortStatus,
    Declaration,
    LocalAuthority,
    Programme,
    Provider,
    Setting,
)
from tracker.places import current_target, waiting_position, waiting_positions
from tracker.uptake import programme_uptake

logger = logging.getLogger(__name__)

blp = PagedBlueprint(
    "api",
    __name__,
    url_prefix=API_PREFIX,
    description="Cohorts, claims for funded places, enrolments and progress, for training "
    "providers' systems and DfE.",
)
register_handlers(blp)
blp.before_request(authenticate)
limiter.shared_limit(
    lambda: current_app.config["API_RATE_LIMIT"], scope="api", key_func=rate_limit_key
)(blp)


@blp.after_request
def _commit_reads(response):
    # A read changes nothing but the token's last use; never fail the answer over it.
    if request.method in ("GET", "HEAD") and response.status_code < 400:
        try:
            db.session.commit()
        except sa.exc.SQLAlchemyError:
            logger.warning("Could not record the use of an API token", exc_info=True)
            db.session.rollback()
    return response


@blp.teardown_request
def _forget_actor(exc):
    token = g.pop("audit_actor", None)
    if token is not None:
        token.var.reset(token)


def problems(*codes: int):
    """Document the problems an operation may answer, besides 401, 403 and 429."""

    def decorator(func):
        for code in sorted({*codes, 401, 403, 429}, reverse=True):
            func = blp.alt_response(code, response=HTTPStatus(code).name)(func)
        return func

    return decorator


# -- presenting records ------------------------------------------------------------------


def _present_cohorts(rows: list[Cohort]) -> list[dict]:
    counts = {
        cohort_id: (f.funded, f.waiting)
        for cohort_id, f in figures.by_cohort(db.session, cohort_ids=[c.id for c in rows]).items()
    }
    return [
        {
            "id": c.id,
            "programme": c.programme.code,
            "provider": c.provider.ukprn,
            "name": c.name,
            "starts_on": c.starts_on,
            "ends_on": c.ends_on,
            "places": c.places,
            "status": c.status.value,
            "funded": int(counts.get(c.id, (0, 0))[0]),
            "waiting": int(counts.get(c.id, (0, 0))[1]),
        }
        for c in rows
    ]


def _present_enrolment(claim: Claim, position: int | None) -> dict:
    return {
        "id": claim.id,
        "cohort": claim.cohort_id,
        "programme": claim.programme.code,
        "status": claim.status.value,
        "waiting_position": position,
        "waiting_reason": claim.waiting_reason,
        # As this claim's maker gave them: never another organisation's copy.
        "participant": {
            "full_name": claim.full_name,
            "email": claim.email,
            "trn": claim.trn,
        },
        "setting": claim.setting.urn if claim.setting else None,
        "local_authority": claim.local_authority.la_code if claim.local_authority else None,
        "end_reason": claim.end_reason,
        "declarations": [
            {"id": d.id, "milestone": d.milestone.code, "declared_on": d.declared_on}
            for d in claim.declarations
            if not d.is_voided
        ],
        "claimed_at": claim.claimed_dt,
        "funded_at": claim.funded_dt,
        "started_at": claim.started_dt,
        "completed_at": claim.completed_dt,
        "ended_at": claim.ended_dt,
        "updated_at": claim.updated_dt,
    }


def _cohort_or_404(cohort_id: int, *, to_change: bool = False) -> Cohort:
    cohort = access.find_cohort(db.session, current_user(), cohort_id, to_change=to_change)
    if cohort is None:
        raise ApiProblem(404, f"There is no cohort {cohort_id} you can see")
    return cohort


def _enrolment_or_404(enrolment_id: int, *, to_change: bool = False) -> Claim:
    claim = access.find_claim(db.session, current_user(), enrolment_id, to_change=to_change)
    if claim is None:
        raise ApiProblem(404, f"There is no enrolment {enrolment_id} you can see")
    return claim


def _programme_by_code(code: str) -> Programme:
    programme = db.session.scalar(sa.select(Programme).where(Programme.code == code.strip()))
    if programme is None:
        raise ApiProblem(422, f"No programme has the code {code!r}", field="programme")
    return programme


# -- programmes and settings -------------------------------------------------------------


@blp.route("/programmes", methods=["GET"])
@blp.response(200, ProgrammeListSchema)
@problems()
def list_programmes():
    """List the programmes, their milestones and national targets."""
    programmes = db.session.scalars(
        sa.select(Programme).options(selectinload(Programme.milestones)).order_by(Programme.code)
    ).all()
    data = []
    for programme in programmes:
        target = current_target(db.session, programme.id)
        data.append(
            {
                "code": programme.code,
                "name": programme.name,
                "description": programme.description,
                "target": target.places if target else None,
                "milestones": programme.milestones,
            }
        )
    return {"data": data}


@blp.route("/settings", methods=["GET"])
@blp.arguments(SettingQuerySchema, location="query", unknown=ma.RAISE)
@blp.response(200, SettingPageSchema)
@blp.paginate()
@problems(422)
def search_settings(args, pagination_parameters):
    """Find early years settings and schools by URN, part of the name or local authority."""
    query = access.settings(db.session, current_user()).options(
        selectinload(Setting.local_authority).selectinload(LocalAuthority.region)
    )
    if "urn" in args:
        query = query.where(Setting.urn == args["urn"].strip().upper())
    if "name" in args:
        query = query.where(Setting.name.icontains(args["name"].strip(), autoescape=True))
    if "local_authority" in args:
        # An unknown code finds nothing, as an unknown name does.
        local_authority = find_local_authority(db.session, args["local_authority"])
        query = query.where(
            Setting.local_authority_id == (local_authority.id if local_authority else None)
        )
    query = query.order_by(Setting.name, Setting.id)

    def present(rows):
        return [
            {
                "urn": s.urn,
                "name": s.name,
                "kind": s.kind.value,
                "local_authority": {
                    "la_code": s.local_authority.la_code,
                    "ons_code": s.local_authority.ons_code,
                    "name": s.local_authority.name,
                    "region": s.local_authority.region.name,
                },
            }
            for s in rows
        ]

    return list_page(query, pagination_parameters, present)


# -- cohorts -----------------------------------------------------------------------------


@blp.route("/cohorts", methods=["GET"])
@blp.arguments(CohortQuerySchema, location="query", unknown=ma.RAISE)
@blp.response(200, CohortPageSchema)
@blp.paginate()
@problems(422)
def list_cohorts(args, pagination_parameters):
    """List the cohorts the token may see: its provider's, or every one for DfE."""
    query = access.cohorts(db.session, current_user()).options(
        selectinload(Cohort.programme), selectinload(Cohort.provider)
    )
    if "programme" in args:
        query = query.join(Programme).where(Programme.code == args["programme"].strip())
    if "status" in args:
        query = query.where(Cohort.status == CohortStatus(args["status"]))
    return list_page(query.order_by(Cohort.id), pagination_parameters, _present_cohorts)


@blp.route("/cohorts", methods=["POST"])
@blp.doc(parameters=[IDEMPOTENCY_PARAMETER])
@write
@blp.arguments(CohortCreateSchema)
@blp.response(201, CohortSchema)
@problems(400, 409, 422)
def create_cohort(data):
    """Create an open cohort within the provider's allocation on a programme."""
    programme = _programme_by_code(data["programme"])
    if is_dfe():
        if "provider" not in data:
            raise ApiProblem(422, "Name the provider by its UKPRN", field="provider")
        provider = db.session.scalar(sa.select(Provider).where(Provider.ukprn == data["provider"]))
        if provider is None:
            raise ApiProblem(422, f"No provider has UKPRN {data['provider']}", field="provider")
    else:
        provider = current_user().provider
        if data.get("provider", provider.ukprn) != provider.ukprn:
            raise ApiProblem(403, "A provider's token creates cohorts for its own provider only")
    cohort = cohorts.create_cohort(
        db.session,
        provider,
        programme,
        name=data["name"],
        starts_on=data["starts_on"],
        ends_on=data["ends_on"],
        places=data["places"],
    )
    location = url_for("api.get_cohort", cohort_id=cohort.id)
    return _present_cohorts([cohort])[0], {"Location": location}


@blp.route("/cohorts/<int:cohort_id>", methods=["GET"])
@blp.response(200, CohortSchema)
@problems(404)
def get_cohort(cohort_id):
    """Show a cohort, with the places funded in it and the claims waiting."""
    return _present_cohorts([_cohort_or_404(cohort_id)])[0]


@blp.route("/cohorts/<int:cohort_id>", methods=["PATCH"])
@write
@blp.arguments(CohortUpdateSchema)
@blp.response(200, CohortSchema)
@problems(400, 404, 409, 422)
def update_cohort(data, cohort_id):
    """Change a cohort; fields left out keep their values. Raising places funds waiting claims."""
    cohort = _cohort_or_404(cohort_id, to_change=True)
    cohorts.update_cohort(
        db.session,
        cohort,
        name=data.get("name", cohort.name),
        starts_on=data.get("starts_on", cohort.starts_on),
        ends_on=data.get("ends_on", cohort.ends_on),
        places=data.get("places", cohort.places),
        status=CohortStatus(data.get("status", cohort.status)),
    )
    return _present_cohorts([cohort])[0]


@blp.route("/cohorts/<int:cohort_id>/claims", methods=["POST"])
@blp.doc(parameters=[IDEMPOTENCY_PARAMETER])
@write
@blp.arguments(ClaimCreateSchema)
@blp.response(201, EnrolmentSchema)
@problems(400, 404, 409, 422)
def claim_place(data, cohort_id):
    """Claim a place in a cohort for a participant: funded if every cap has room, else waiting.

    The answer's status is ``funded`` or ``waiting``; a waiting claim carries its position
    on the cohort's waiting list and the cap that is full.
    """
    cohort = _cohort_or_404(cohort_id, to_change=True)
    setting = None
    if "setting" in data:
        urn = data["setting"].strip().upper()
        setting = db.session.scalar(sa.select(Setting).where(Setting.urn == urn))
        if setting is None:
            raise ApiProblem(422, f"No setting has URN {urn}", field="setting")
    local_authority = None
    if "local_authority" in data:
        local_authority = find_local_authority(db.session, data["local_authority"])
        if local_authority is None:
            raise ApiProblem(
                422,
                f"No local authority has the code {data['local_authority']!r}",
                field="local_authority",
            )
    outcome = places.claim_place(
        db.session,
        cohort,
        full_name=data["full_name"],
        email=data["email"],
        trn=data.get("trn"),
        setting=setting,
        local_authority=local_authority,
        by=current_user(),
    )
    location = url_for("api.get_enrolment", enrolment_id=outcome.claim.id)
    claim = outcome.claim
    return _present_enrolment(claim, outcome.waiting_position), {"Location": location}


# -- enrolments --------------------------------------------------------------------------


@blp.route("/enrolments", methods=["GET"])
@blp.arguments(EnrolmentQuerySchema, location="query", unknown=ma.RAISE)
@blp.response(200, EnrolmentPageSchema)
@blp.paginate()
@problems(422)
def list_enrolments(args, pagination_parameters):
    """List enrolments, oldest change first; ``updated_since`` pulls what changed since then."""
    query = access.claims(db.session, current_user()).options(
        selectinload(Claim.programme),
        selectinload(Claim.setting),
        selectinload(Claim.local_authority),
        selectinload(Claim.declarations).selectinload(Declaration.milestone),
    )
    if "updated_since" in args:
        query = query.where(Claim.updated_dt >= args["updated_since"])
    if "cohort" in args:
        query = query.where(Claim.cohort_id == args["cohort"])
    if "status" in args:
        query = query.where(Claim.status == ClaimStatus(args["status"]))
    query = query.order_by(Claim.updated_dt, Claim.id)

    def present(rows: list[Claim]) -> list[dict]:
        positions = waiting_positions(db.session, rows)  # one query for the page
        return [_present_enrolment(c, positions.get(c.id)) for c in rows]

    return list_page(query, pagination_parameters, present)


@blp.route("/enrolments/<int:enrolment_id>", methods=["GET"])
@blp.response(200, EnrolmentSchema)
@problems(404)
def get_enrolment(enrolment_id):
    """Show an enrolment: its status, waiting position and declarations."""
    claim = _enrolment_or_404(enrolment_id)
    return _present_enrolment(claim, waiting_position(db.session, claim))


@blp.route("/enrolments/<int:enrolment_id>/declarations", methods=["POST"])
@blp.doc(parameters=[IDEMPOTENCY_PARAMETER])
@write
@blp.arguments(DeclarationCreateSchema)
@blp.response(201, DeclarationSchema)
@problems(400, 404, 409, 422)
def declare_milestone(data, enrolment_id):
    """Declare that the participant reached the next milestone, on a date.

    Milestones come in the programme's order, once each: a declaration out of order or
    made twice is refused with 422, naming the reason.
    """
    claim = _enrolment_or_404(enrolment_id, to_change=True)
    declared_on: date = data["declared_on"]
    declaration = progress.record_declaration(
        db.session,
        claim,
        milestone_code=data["milestone"].strip(),
        declared_on=declared_on,
        by=current_user(),
    )
    return {
        "id": declaration.id,
        "enrolment_id": claim.id,
        "milestone": declaration.milestone.code,
        "declared_on": declaration.declared_on,
        "created_at": declaration.created_dt,
        "enrolment_status": claim.status.value,
    }


@blp.route("/enrolments/<int:enrolment_id>/withdrawal", methods=["POST"])
@blp.doc(parameters=[IDEMPOTENCY_PARAMETER])
@write
@blp.arguments(WithdrawalSchema)
@blp.response(200, EnrolmentSchema)
@problems(400, 404, 409, 422)
def withdraw(data, enrolment_id):
    """Withdraw the participant; a place not yet in training goes to the next waiting claim."""
    claim = _enrolment_or_404(enrolment_id, to_change=True)
    outcome = places.withdraw(db.session, claim, reason=data["reason"], by=current_user())
    return _present_enrolment(outcome.claim, waiting_position(db.session, outcome.claim))


@blp.route("/enrolments/<int:enrolment_id>/deferral", methods=["POST"])
@blp.doc(parameters=[IDEMPOTENCY_PARAMETER])
@write
@blp.arguments(DeferralSchema)
@blp.response(200, EnrolmentSchema)
@problems(400, 404, 409, 422)
def defer(data, enrolment_id):
    """Defer the participant: a place not yet in training goes to the next waiting claim;
    one in training is kept for their return (see resumption)."""
    claim = _enrolment_or_404(enrolment_id, to_change=True)
    outcome = places.defer(db.session, claim, reason=data["reason"], by=current_user())
    return _present_enrolment(outcome.claim, None)


@blp.route("/enrolments/<int:enrolment_id>/resumption", methods=["POST"])
@blp.doc(parameters=[IDEMPOTENCY_PARAMETER])
@write
@blp.arguments(ResumptionSchema)
@blp.response(200, EnrolmentSchema)
@problems(400, 404, 409, 422)
def resume(data, enrolment_id):
    """Resume a deferred enrolment, keeping its declarations.

    If training had started, the participant goes back into training on the place they
    kept; if not, the enrolment joins the back of the cohort's waiting list, and is
    funded at once if it fits with no one ahead.
    """
    claim = _enrolment_or_404(enrolment_id, to_change=True)
    to_cohort = None
    if "cohort" in data:
        try:
            to_cohort = _cohort_or_404(data["cohort"], to_change=True)
        except ApiProblem:
            raise ApiProblem(
                422, f"There is no cohort {data['cohort']} you can see", field="cohort"
            ) from None
    outcome = places.resume(db.session, claim, to_cohort=to_cohort, by=current_user())
    return _present_enrolment(outcome.claim, outcome.waiting_position)


# -- uptake ------------------------------------------------------------------------------


@blp.route("/uptake", methods=["GET"])
@blp.response(200, UptakeListSchema)
@problems()
def uptake():
    """Show each programme's uptake against its target (DfE only)."""
    require_dfe()
    return {
        "data": [
            {
                "programme": row.programme.code,
                "target": row.target,
                "claimed": row.claimed,
                "funded": row.funded,
                "started": row.ever_started,
                "in_training": row.in_training,
                "completed": row.completed,
                "withdrawn": row.withdrawn,
                "waiting": row.waiting,
            }
            for row in programme_uptake(db.session)
        ]
    }
