"""What the API accepts and answers: these schemas both check requests and write the document."""

from datetime import UTC

import marshmallow as ma
from marshmallow import fields, validate

from tracker.api.paging import PAGING_PARAMETERS
from tracker.figures import DEFINITIONS
from tracker.models import ClaimStatus, CohortStatus, SettingKind

MAX_ID = 2**31 - 1


class Text(fields.String):
    """A string the databases can store: no NUL character, no lone surrogate."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if "\x00" in text:
            raise ma.ValidationError("Must not contain a NUL character.")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise ma.ValidationError("Must be valid Unicode text.") from None
        return text


class Timestamp(fields.AwareDateTime):
    """An ISO 8601 date and time; one without an offset is taken as UTC."""

    def __init__(self, **kwargs):
        super().__init__(default_timezone=UTC, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        moment = super()._deserialize(value, attr, data, **kwargs)
        try:
            return moment.astimezone(UTC)
        except OverflowError:
            raise ma.ValidationError("Not a date and time the service can hold.") from None


def _id(**kwargs) -> fields.Integer:
    return fields.Integer(validate=validate.Range(1, MAX_ID), **kwargs)


# -- requests ----------------------------------------------------------------------------


class PageQuerySchema(ma.Schema):
    """A paged list's filters; ``Blueprint.paginate`` reads ``page`` and ``page_size``.

    Any other parameter a filter schema does not know is refused, naming it.
    """

    @ma.pre_load
    def leave_paging_to_paginate(self, data, **kwargs):
        return {key: data[key] for key in data if key not in PAGING_PARAMETERS}


class SettingQuerySchema(PageQuerySchema):
    urn = Text(validate=validate.Length(1, 8), metadata={"description": "The exact URN"})
    name = Text(
        validate=validate.Length(1, 200), metadata={"description": "Part of the setting's name"}
    )
    local_authority = Text(
        validate=validate.Length(1, 9),
        metadata={"description": "A local authority's 3-digit DfE code or its ONS code"},
    )


class CohortQuerySchema(PageQuerySchema):
    programme = Text(validate=validate.Length(1, 20), metadata={"description": "Programme code"})
    status = fields.String(validate=validate.OneOf([s.value for s in CohortStatus]))


class EnrolmentQuerySchema(PageQuerySchema):
    updated_since = Timestamp(
        metadata={"description": "Only enrolments changed at or after this time (ISO 8601)"}
    )
    cohort = _id(metadata={"description": "A cohort's id"})
    status = fields.String(validate=validate.OneOf([s.value for s in ClaimStatus]))


class CohortCreateSchema(ma.Schema):
    programme = Text(
        required=True, validate=validate.Length(1, 20), metadata={"example": "ey-senco-l3"}
    )
    provider = Text(
        validate=validate.Regexp(r"^1\d{7}$"),
        metadata={"description": "UKPRN of the provider: DfE tokens must give it"},
    )
    name = Text(required=True, validate=validate.Length(1, 120))
    starts_on = fields.Date(required=True)
    ends_on = fields.Date(required=True)
    places = fields.Integer(strict=True, required=True, validate=validate.Range(1, 100_000))


class CohortUpdateSchema(ma.Schema):
    name = Text(validate=validate.Length(1, 120))
    starts_on = fields.Date()
    ends_on = fields.Date()
    places = fields.Integer(strict=True, validate=validate.Range(1, 100_000))
    status = fields.String(validate=validate.OneOf([s.value for s in CohortStatus]))


class ClaimCreateSchema(ma.Schema):
    full_name = Text(required=True, validate=validate.Length(1, 200))
    email = fields.Email(required=True, validate=validate.Length(3, 254))
    trn = Text(
        allow_none=True,
        validate=validate.Length(0, 20),
        metadata={"description": "Teacher reference number: 7 digits"},
    )
    setting = Text(
        validate=validate.Length(1, 8),
        metadata={
            "description": "URN of the setting the participant works at, where the "
            "programme needs one",
            "example": "EY541824",
        },
    )
    local_authority = Text(
        validate=validate.Length(1, 9),
        metadata={"description": "Where the place counts when there is no setting (EP trainees)"},
    )


class DeclarationCreateSchema(ma.Schema):
    milestone = Text(
        required=True, validate=validate.Length(1, 30), metadata={"example": "started"}
    )
    declared_on = fields.Date(required=True)


class WithdrawalSchema(ma.Schema):
    reason = Text(required=True, validate=validate.Length(1, 2000))


class DeferralSchema(ma.Schema):
    reason = Text(required=True, validate=validate.Length(1, 2000))


class ResumptionSchema(ma.Schema):
    cohort = fields.Integer(
        strict=True,
        validate=validate.Range(1, 2**31 - 1),
        metadata={
            "description": "The cohort to resume in, by id (the enrolment's own by default): "
            "a later cohort of the same programme"
        },
    )


# -- answers -----------------------------------------------------------------------------


class LinksSchema(ma.Schema):
    next = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "The next page, if any: its path on this service, with query"},
    )


class PageMetaSchema(ma.Schema):
    page = fields.Integer(required=True)
    page_size = fields.Integer(required=True)
    total = fields.Integer(required=True)


class MilestoneSchema(ma.Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    position = fields.Integer(required=True)
    due_after_days = fields.Integer(required=True)


class ProgrammeSchema(ma.Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    description = fields.String(required=True)
    target = fields.Integer(
        required=True, allow_none=True, metadata={"description": "National places now"}
    )
    milestones = fields.List(fields.Nested(MilestoneSchema), required=True)


class ProgrammeListSchema(ma.Schema):
    data = fields.List(fields.Nested(ProgrammeSchema), required=True)


class LocalAuthoritySchema(ma.Schema):
    la_code = fields.String(required=True)
    ons_code = fields.String(required=True)
    name = fields.String(required=True)
    region = fields.String(required=True)


class SettingSchema(ma.Schema):
    urn = fields.String(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf([k.value for k in SettingKind]))
    local_authority = fields.Nested(LocalAuthoritySchema, required=True)


class SettingPageSchema(ma.Schema):
    data = fields.List(fields.Nested(SettingSchema), required=True)
    links = fields.Nested(LinksSchema, required=True)
    meta = fields.Nested(PageMetaSchema, required=True)


class CohortSchema(ma.Schema):
    id = fields.Integer(required=True)
    programme = fields.String(required=True)
    provider = fields.String(required=True, metadata={"description": "UKPRN"})
    name = fields.String(required=True)
    starts_on = fields.Date(required=True)
    ends_on = fields.Date(required=True)
    places = fields.Integer(required=True)
    status = fields.String(required=True, validate=validate.OneOf([s.value for s in CohortStatus]))
    funded = fields.Integer(required=True, metadata={"description": "Places funded in it"})
    waiting = fields.Integer(required=True, metadata={"description": "Claims waiting for one"})


class CohortPageSchema(ma.Schema):
    data = fields.List(fields.Nested(CohortSchema), required=True)
    links = fields.Nested(LinksSchema, required=True)
    meta = fields.Nested(PageMetaSchema, required=True)


class ParticipantSchema(ma.Schema):
    full_name = fields.String(required=True)
    email = fields.String(required=True)
    trn = fields.String(required=True, allow_none=True)


class DeclarationSchema(ma.Schema):
    id = fields.Integer(required=True)
    enrolment_id = fields.Integer(required=True)
    milestone = fields.String(required=True)
    declared_on = fields.Date(required=True)
    created_at = fields.DateTime(required=True)
    enrolment_status = fields.String(
        required=True, validate=validate.OneOf([s.value for s in ClaimStatus])
    )


class EnrolmentDeclarationSchema(ma.Schema):
    id = fields.Integer(required=True)
    milestone = fields.String(required=True)
    declared_on = fields.Date(required=True)


class EnrolmentSchema(ma.Schema):
    """A claim for a funded place: funded or waiting, then in training, completed or ended."""

    id = fields.Integer(required=True)
    cohort = fields.Integer(required=True)
    programme = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf([s.value for s in ClaimStatus]))
    waiting_position = fields.Integer(
        required=True,
        allow_none=True,
        metadata={"description": "Place on the cohort's waiting list (1 is next), when waiting"},
    )
    waiting_reason = fields.String(
        required=True, allow_none=True, metadata={"description": "Which cap is full"}
    )
    participant = fields.Nested(
        ParticipantSchema,
        required=True,
        metadata={
            "description": "The participant's details as given when the claim was made: another"
            " organisation's claim for the same person keeps its own"
        },
    )
    setting = fields.String(required=True, allow_none=True, metadata={"description": "URN"})
    local_authority = fields.String(
        required=True, allow_none=True, metadata={"description": "DfE code"}
    )
    end_reason = fields.String(required=True, allow_none=True)
    declarations = fields.List(fields.Nested(EnrolmentDeclarationSchema), required=True)
    claimed_at = fields.DateTime(required=True)
    funded_at = fields.DateTime(required=True, allow_none=True)
    started_at = fields.DateTime(required=True, allow_none=True)
    completed_at = fields.DateTime(required=True, allow_none=True)
    ended_at = fields.DateTime(required=True, allow_none=True)
    updated_at = fields.DateTime(required=True)


class EnrolmentPageSchema(ma.Schema):
    data = fields.List(fields.Nested(EnrolmentSchema), required=True)
    links = fields.Nested(LinksSchema, required=True)
    meta = fields.Nested(PageMetaSchema, required=True)


def _figure(name: str) -> fields.Integer:
    """A count whose description is its definition's (``tracker.figures``)."""
    meaning = DEFINITIONS[name].meaning
    description = meaning[:1].upper() + meaning[1:]
    return fields.Integer(required=True, metadata={"description": description})


class UptakeSchema(ma.Schema):
    programme = fields.String(required=True)
    target = fields.Integer(required=True, allow_none=True)
    claimed = _figure("claimed")
    funded = _figure("funded")
    # Named before the definitions were: "started" is "ever started".
    started = _figure("ever_started")
    in_training = _figure("in_training")
    completed = _figure("completed")
    withdrawn = _figure("withdrawn")
    waiting = _figure("waiting")


class UptakeListSchema(ma.Schema):
    data = fields.List(fields.Nested(UptakeSchema), required=True)
