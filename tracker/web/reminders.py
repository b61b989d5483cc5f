"""Reminder pages: DfE sees the rules, what went out, what failed and what is due next week;
a participant stops non-essential reminders through the link in each email."""

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovCheckboxesInput,
    GovRadioInput,
    GovSelect,
    GovSubmitInput,
    GovTextArea,
    GovTextInput,
)
from wtforms import (
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError

from tracker.access import require_role
from tracker.extensions import db
from tracker.models import OutboxMessage, OutboxStatus, Programme, Role
from tracker.models.base import utcnow
from tracker.reminders.defaults import AUDIENCES, RULE_CODES, change_rule, rule_for, rules_in_force
from tracker.reminders.outbox import count_by_status
from tracker.reminders.rules import preview_due
from tracker.reminders.time import london_date
from tracker.reminders.tokens import opt_out, participant_from_token
from tracker.web import forms
from tracker.web.fields import PlainText, paginate
from tracker.web.forms import commit_or_show

bp = Blueprint("reminders", __name__, url_prefix="/dfe/reminders")
bp.before_request(require_role(Role.DFE))

links = Blueprint("reminder_links", __name__, url_prefix="/reminders")

MESSAGES_PER_PAGE = 50
PREVIEW_DAYS = 7
PREVIEW_SHOWN = 200


@bp.get("/")
def rules():
    programmes = db.session.scalars(sa.select(Programme).order_by(Programme.name)).all()
    by_code = {code: rules_in_force(db.session, code) for code in RULE_CODES}
    return render_template(
        "reminders/rules.html",
        programmes=programmes,
        by_code=by_code,
        counts=count_by_status(db.session),
    )


class OutboxFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET filter changes nothing

    status = SelectField(
        "Status",
        default="",
        choices={"": "Any status", **{s.value: s.value.capitalize() for s in OutboxStatus}},
        widget=GovSelect(),
    )
    rule = SelectField(
        "Reminder",
        default="",
        choices={"": "Any reminder", **{code: code.replace("-", " ") for code in RULE_CODES}},
        widget=GovSelect(),
    )
    submit = SubmitField("Filter", widget=GovSubmitInput())


@bp.get("/outbox")
def outbox():
    form = OutboxFilterForm(request.args)
    query = sa.select(OutboxMessage).order_by(
        OutboxMessage.created_dt.desc(), OutboxMessage.id.desc()
    )
    if request.args and not form.validate():
        page = None
    else:
        if form.status.data:
            query = query.where(OutboxMessage.status == OutboxStatus(form.status.data))
        if form.rule.data:
            query = query.where(OutboxMessage.rule_code == form.rule.data)
        page = paginate(query, per_page=MESSAGES_PER_PAGE)
    return render_template(
        "reminders/outbox.html", form=form, page=page, counts=count_by_status(db.session)
    )


@bp.get("/preview")
def preview():
    due = preview_due(db.session, london_date(utcnow()), PREVIEW_DAYS)
    db.session.rollback()  # what working out the due reminders wrote is not kept
    return render_template(
        "reminders/preview.html", due=due[:PREVIEW_SHOWN], total=len(due), days=PREVIEW_DAYS
    )


class StopRemindersForm(FlaskForm):
    submit = SubmitField("Stop these reminders", widget=GovSubmitInput())


@links.route("/stop/<token>", methods=["GET", "POST"])
def stop(token: str):
    # A GET only asks: mail scanners follow links, and must not opt anyone out.
    participant = participant_from_token(db.session, token)
    if participant is None:
        abort(404)
    form = StopRemindersForm()
    if form.validate_on_submit():
        opt_out(db.session, participant)
        forms.save()
        return render_template("reminders/stopped.html")
    return render_template(
        "reminders/stop.html",
        form=form,
        already=participant.reminders_opted_out_dt is not None,
    )


class SingleLine(PlainText):
    """Refuse every control character, line breaks included: a mail header is one line."""

    def __call__(self, form, field) -> None:
        value = field.data or ""
        if any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise ValidationError(self.message)


class RuleForm(FlaskForm):
    days = IntegerField(
        "Days",
        description="How many days before or after, or how often, as the rule says.",
        validators=[Optional(), NumberRange(min=0, max=366, message="Enter days from 0 to 366")],
        widget=GovTextInput(),
    )
    audience = SelectMultipleField(
        "Who is told",
        choices={a: a.replace("-", " ").capitalize() for a in AUDIENCES},
        validators=[InputRequired(message="Choose who is told")],
        widget=GovCheckboxesInput(),
    )
    subject = StringField(
        "Subject",
        validators=[
            InputRequired(message="Enter the subject"),
            Length(max=200, message="The subject must be 200 characters or fewer"),
            SingleLine("The subject must be one line, without special characters"),
        ],
        widget=GovTextInput(),
    )
    body = TextAreaField(
        "Wording",
        description="Placeholders such as ${recipient_name} are filled in when it is sent.",
        validators=[
            InputRequired(message="Enter the wording"),
            Length(max=5000, message="The wording must be 5,000 characters or fewer"),
            PlainText("The wording must not contain special characters"),
        ],
        widget=GovTextArea(),
    )
    is_enabled = RadioField(
        "Send this reminder",
        choices={"yes": "Yes", "no": "No"},
        validators=[InputRequired(message="Choose whether to send this reminder")],
        widget=GovRadioInput(),
    )
    submit = SubmitField("Save the reminder", widget=GovSubmitInput())


@bp.route("/<programme_code>/<code>", methods=["GET", "POST"])
def change(programme_code: str, code: str):
    programme = db.session.scalar(sa.select(Programme).where(Programme.code == programme_code))
    if programme is None or code not in RULE_CODES:
        abort(404)
    rule = rule_for(db.session, programme, code)
    form = RuleForm(
        data={
            "days": rule.days if rule.days is not None else rule.day_of_period,
            "audience": list(rule.audience),
            "subject": rule.subject,
            "body": rule.body,
            "is_enabled": "yes" if rule.is_enabled else "no",
        }
    )
    if form.validate_on_submit():
        number = "day_of_period" if rule.day_of_period is not None else "days"
        if commit_or_show(
            form,
            lambda: change_rule(
                db.session,
                programme,
                code,
                by=current_user,
                audience=form.audience.data,
                subject=form.subject.data,
                body=form.body.data,
                is_enabled=form.is_enabled.data == "yes",
                **({number: form.days.data} if form.days.data is not None else {}),
            ),
            default_field="body",
        ):
            flash(f"{code.replace('-', ' ').capitalize()} on {programme.name} saved")
            return redirect(url_for("reminders.rules"))
    return render_template("reminders/change.html", form=form, programme=programme, rule=rule)
