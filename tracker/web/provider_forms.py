"""The forms of the training provider's pages, drawn with GOV.UK Frontend widgets."""

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from govuk_frontend_wtf.wtforms_widgets import (
    GovCheckboxesInput,
    GovFileInput,
    GovRadioInput,
    GovSubmitInput,
    GovTextArea,
    GovTextInput,
)
from wtforms import (
    RadioField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length

from tracker.web.fields import GovDateField, PlacesField

# More places than any cohort has: keeps numbers typed by mistake away from the database.
MAX_COHORT_PLACES = 100_000


def _no_nul(value):
    # PostgreSQL cannot store NUL characters; nobody types one on purpose.
    return value.replace("\x00", "") if isinstance(value, str) else value


class CohortForm(FlaskForm):
    programme = RadioField(
        "Programme",
        widget=GovRadioInput(),
        invalid_choice_message="Select the programme",
        validators=[InputRequired("Select the programme")],
    )
    name = StringField(
        "Cohort name",
        widget=GovTextInput(),
        description="For example, Spring 2026 or North West 1.",
        filters=[_no_nul],
        validators=[
            InputRequired("Enter a name for the cohort"),
            Length(max=120, message="The cohort name must be 120 characters or fewer"),
        ],
    )
    starts_on = GovDateField(
        "Start date", description="For example, 1 9 2026", required="Enter the start date"
    )
    ends_on = GovDateField(
        "End date", description="For example, 28 2 2028", required="Enter the end date"
    )
    places = PlacesField(
        "Places",
        description="Funded places the cohort offers, within your allocation.",
        minimum=1,
        maximum=MAX_COHORT_PLACES,
    )
    submit = SubmitField("Save cohort", widget=GovSubmitInput())


class EditCohortForm(CohortForm):
    programme = None


class EnrolForm(FlaskForm):
    full_name = StringField(
        "Full name",
        widget=GovTextInput(),
        filters=[_no_nul],
        validators=[InputRequired("Enter the participant's full name")],
    )
    email = StringField(
        "Email address",
        widget=GovTextInput(),
        filters=[_no_nul],
        validators=[InputRequired("Enter the participant's email address")],
    )
    trn = StringField(
        "Teacher reference number (TRN) (optional)",
        widget=GovTextInput(),
        description="7 digits, if they have one.",
        filters=[_no_nul],
    )
    setting = StringField(
        "Setting URN",
        widget=GovTextInput(),
        description="The URN of the school or early years setting they work at, like EY541824.",
        filters=[_no_nul],
    )
    local_authority = StringField(
        "Local authority code",
        widget=GovTextInput(),
        description="The 3-digit DfE code of the local authority the trainee is placed in.",
        filters=[_no_nul],
    )
    submit = SubmitField("Enrol participant", widget=GovSubmitInput())


class UploadForm(FlaskForm):
    file = FileField("Upload a CSV file", widget=GovFileInput())
    submit = SubmitField("Check and import", widget=GovSubmitInput())


class DeclarationForm(FlaskForm):
    milestone = RadioField(
        "Milestone",
        widget=GovRadioInput(),
        invalid_choice_message="Select the milestone reached",
        validators=[InputRequired("Select the milestone reached")],
    )
    declared_on = GovDateField(
        "Date reached",
        description="For example, 27 3 2026",
        required="Enter the date the milestone was reached",
    )
    submit = SubmitField("Record declaration", widget=GovSubmitInput())


class BulkDeclarationForm(DeclarationForm):
    claims = SelectMultipleField(
        "Participants",
        widget=GovCheckboxesInput(),
        coerce=str,
        validate_choice=False,
        validators=[InputRequired("Select at least one participant")],
    )
    submit = SubmitField("Record declarations", widget=GovSubmitInput())


class EndClaimForm(FlaskForm):
    reason = RadioField(
        "Reason",
        widget=GovRadioInput(),
        invalid_choice_message="Select the reason",
        validators=[InputRequired("Select the reason")],
    )
    other_reason = TextAreaField(
        "Give the reason",
        widget=GovTextArea(),
        filters=[_no_nul],
        validators=[Length(max=1000, message="The reason must be 1,000 characters or fewer")],
    )
    submit = SubmitField("Confirm", widget=GovSubmitInput())

    def reason_text(self) -> str:
        if self.reason.data == "other":
            return (self.other_reason.data or "").strip()
        return dict(self.reason.choices)[self.reason.data]


class MoveForm(FlaskForm):
    cohort = RadioField(
        "Cohort to move to",
        widget=GovRadioInput(),
        invalid_choice_message="Select the cohort to move to",
        validators=[InputRequired("Select the cohort to move to")],
    )
    submit = SubmitField("Move participant", widget=GovSubmitInput())


class ResumeForm(FlaskForm):
    cohort = RadioField(
        "Cohort to resume in",
        widget=GovRadioInput(),
        invalid_choice_message="Select the cohort to resume in",
        validators=[InputRequired("Select the cohort to resume in")],
    )
    submit = SubmitField("Resume training", widget=GovSubmitInput())
