"""The forms of the account pages, drawn with GOV.UK Frontend widgets (govuk-frontend-wtf)."""

from collections.abc import Callable
from typing import TypeVar

from flask_wtf import FlaskForm
from govuk_frontend_wtf.main import wtforms_errors
from govuk_frontend_wtf.wtforms_widgets import (
    GovDateInput,
    GovPasswordInput,
    GovRadioInput,
    GovSubmitInput,
    GovTextInput,
)
from wtforms import PasswordField, RadioField, StringField, SubmitField
from wtforms.validators import EqualTo, InputRequired, Length

from tracker.errors import DomainError
from tracker.extensions import db
from tracker.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from tracker.web.fields import PlainText
from tracker.web.layout import ROLE_LABELS

T = TypeVar("T")

# The longest email address SMTP allows (RFC 5321), and the accounts' column.
MAX_EMAIL_LENGTH = 254


def show_domain_error(form: FlaskForm, error: DomainError, *, default_field: str) -> None:
    """Put a rule's message against the field it names, for the error summary and the field."""
    field = form._fields.get(error.field or "") or form._fields[default_field]
    field.errors.append(error.message)


def save() -> None:
    """Commit what this request changed: with ``discard``, the only place pages end their
    transaction (tests replace it to show a view whose change is not saved fails them)."""
    db.session.commit()


def discard() -> None:
    """Roll back what this request changed, when a rule refused it."""
    db.session.rollback()


def commit_or_show(form: FlaskForm, call: Callable[[], T], *, default_field: str) -> T | None:
    """A page's change, saved: run ``call`` and commit it, or, when a rule refuses it, roll
    back and show the rule's message on the field it names (else ``default_field``).

    Returns what ``call`` returned (True when it returns nothing), or None when refused.
    """
    try:
        result = call()
    except DomainError as error:
        discard()
        show_domain_error(form, error, default_field=default_field)
        return None
    save()
    return True if result is None else result


def error_summary(form: FlaskForm, params: dict | None = None) -> dict:
    """govukErrorSummary's parameters for a form, each message linking to the input to fix:
    for a date in three boxes, its day box (as the GOV.UK date input pattern asks)."""
    summary = wtforms_errors(form, params or {})
    by_href = {f"#{field.id}": field for field in form}
    for item in summary["errorList"]:
        field = by_href.get(item["href"])
        if field is not None and isinstance(field.widget, GovDateInput):
            item["href"] = f"#{field.name}-day"
    return summary


class SignInForm(FlaskForm):
    email = StringField(
        "Email address",
        widget=GovTextInput(),
        validators=[
            InputRequired("Enter your email address"),
            Length(max=MAX_EMAIL_LENGTH, message="Enter a correct email address and password"),
            PlainText("Enter a correct email address and password"),
        ],
    )
    password = PasswordField(
        "Password",
        widget=GovPasswordInput(),
        validators=[InputRequired("Enter your password")],
    )
    submit = SubmitField("Sign in", widget=GovSubmitInput())


class SetPasswordForm(FlaskForm):
    password = PasswordField(
        "Create a password",
        widget=GovPasswordInput(),
        description=(
            f"Your password must be {MIN_PASSWORD_LENGTH} characters or more, and not one that"
            " is easy to guess. Three random words make a good password."
        ),
        validators=[
            InputRequired("Enter a password"),
            Length(
                min=MIN_PASSWORD_LENGTH,
                message=f"Your password must be {MIN_PASSWORD_LENGTH} characters or more",
            ),
            Length(
                max=MAX_PASSWORD_LENGTH,
                message=f"Your password must be {MAX_PASSWORD_LENGTH} characters or fewer",
            ),
        ],
    )
    confirm = PasswordField(
        "Confirm your password",
        widget=GovPasswordInput(),
        validators=[
            InputRequired("Confirm your password"),
            EqualTo("password", "The passwords you entered do not match"),
        ],
    )
    submit = SubmitField("Set password", widget=GovSubmitInput())


class CreateAccountForm(FlaskForm):
    full_name = StringField(
        "Full name",
        widget=GovTextInput(),
        validators=[
            InputRequired("Enter the person's full name"),
            Length(max=200, message="Full name must be 200 characters or fewer"),
            PlainText("Full name must not contain special characters"),
        ],
    )
    email = StringField(
        "Email address",
        widget=GovTextInput(),
        description="The person's work email address. They will sign in with it.",
        validators=[
            InputRequired("Enter an email address"),
            Length(
                max=MAX_EMAIL_LENGTH,
                message=f"Email address must be {MAX_EMAIL_LENGTH} characters or fewer",
            ),
            PlainText("Enter an email address in the correct format, like name@example.com"),
        ],
    )
    role = RadioField(
        "What will they do in the service?",
        widget=GovRadioInput(),
        choices={role.value: label for role, label in ROLE_LABELS.items()},
        # Nothing chosen fails the choice check before any validator runs: one message for both.
        invalid_choice_message="Select what they will do in the service",
        validators=[InputRequired("Select what they will do in the service")],
    )
    organisation = StringField(
        "Organisation code",
        widget=GovTextInput(),
        description=(
            "The provider's UKPRN, the setting's or school's URN, or the local authority's"
            " 3-digit code. Leave this empty for DfE staff."
        ),
        validators=[
            Length(max=20, message="Organisation code must be 20 characters or fewer"),
            PlainText("Organisation code must not contain special characters"),
        ],
    )
    submit = SubmitField("Create account", widget=GovSubmitInput())


class ConfirmForm(FlaskForm):
    """A button that confirms an action: the form carries only its CSRF token."""

    submit = SubmitField("Confirm", widget=GovSubmitInput())
