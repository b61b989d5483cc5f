"""DfE staff manage accounts: list them, create one, send its set-password link, deactivate."""

import sqlalchemy as sa
from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from tracker.access import require_role
from tracker.accounts import create_user, deactivate_user, set_password_token
from tracker.errors import DomainError
from tracker.extensions import db
from tracker.models import Role, User
from tracker.models.base import utcnow
from tracker.web import forms
from tracker.web.forms import ConfirmForm, CreateAccountForm, commit_or_show

bp = Blueprint("admin", __name__, url_prefix="/admin")
bp.before_request(require_role(Role.DFE))

ACCOUNTS_PER_PAGE = 25


@bp.get("/")
def index():
    return redirect(url_for("admin.accounts"))


@bp.get("/accounts")
def accounts():
    page = db.paginate(
        sa.select(User).order_by(User.created_dt.desc(), User.id.desc()),
        per_page=ACCOUNTS_PER_PAGE,
        max_per_page=ACCOUNTS_PER_PAGE,
    )
    return render_template("admin/accounts.html", page=page)


@bp.route("/accounts/new", methods=["GET", "POST"])
def create_account():
    form = CreateAccountForm()
    if form.validate_on_submit():
        user = commit_or_show(
            form,
            lambda: create_user(
                db.session,
                email=form.email.data,
                role=Role(form.role.data),
                organisation=(form.organisation.data or "").strip() or None,
                full_name=" ".join(form.full_name.data.split()),
            ),
            default_field="email",
        )
        if user is not None:
            flash(f"Account created for {user.email}", "success")
            return redirect(url_for("admin.account", user_id=user.id))
    return render_template("admin/create_account.html", form=form)


@bp.get("/accounts/<int:user_id>")
def account(user_id: int):
    user = db.get_or_404(User, user_id)
    link = link_expires = None
    # Only an account that has never had a password gets a link: otherwise DfE staff could
    # take over an account by setting its password.
    if user.is_active and user.password_hash is None:
        token = set_password_token(user, secret_key=current_app.secret_key)
        link = url_for("auth.set_password_page", token=token, _external=True)
        link_expires = utcnow() + current_app.config["SET_PASSWORD_LINK_MAX_AGE"]
    return render_template("admin/account.html", user=user, link=link, link_expires=link_expires)


@bp.route("/accounts/<int:user_id>/deactivate", methods=["GET", "POST"])
def deactivate_account(user_id: int):
    user = db.get_or_404(User, user_id)
    form = ConfirmForm()
    error = None
    if request.method == "POST" and form.validate_on_submit():
        try:
            deactivate_user(db.session, user, by=current_user)
        except DomainError as exc:
            forms.discard()
            error = exc.message
        else:
            forms.save()
            flash(f"The account for {user.email} has been deactivated", "success")
            return redirect(url_for("admin.accounts"))
    return render_template("admin/deactivate_account.html", user=user, form=form, error=error)
