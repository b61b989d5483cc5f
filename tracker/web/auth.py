"""Signing in and out, setting a password from a one-time link, and keeping a session alive."""

import logging
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required, login_user, logout_user

from tracker.accounts import (
    SESSION_ID_KEY,
    end_session,
    set_password,
    sign_in_with_password,
    start_session,
    user_for_set_password_token,
)
from tracker.audit import acting_as, reset_actor, set_actor
from tracker.errors import DomainError
from tracker.extensions import db, limiter
from tracker.participants import normalise_email
from tracker.web import forms
from tracker.web.forms import SetPasswordForm, SignInForm, commit_or_show
from tracker.web.layout import home_url

bp = Blueprint("auth", __name__)
logger = logging.getLogger(__name__)

# Scopes of the two counts of wrong passwords (see sign_in).
ACCOUNT_SCOPE = "failures-per-account"
ADDRESS_SCOPE = "failures-per-address"


@bp.before_app_request
def name_the_actor() -> None:
    """Record the signed-in person as the author of the changes this request makes."""
    if request.endpoint == "static":
        return
    user = current_user if current_user.is_authenticated else None
    g.audit_token = set_actor(user, label="web")


@bp.teardown_app_request
def forget_the_actor(exc: BaseException | None) -> None:
    token = g.pop("audit_token", None)
    if token is not None:
        reset_actor(token)


def _typed_email() -> str:
    # Never empty: Flask-Limiter logs an error for an empty key.
    return normalise_email(request.form.get("email", "")) or "-"


def _sign_in_failed(response) -> bool:
    return g.get("sign_in_failed", False)


MAX_NEXT_LENGTH = 2000


def _safe_next(target: str | None) -> str | None:
    """Accept only a path on this site as the page to go back to after signing in.

    No control characters (a CR or LF would split the Location header), no backslash
    (browsers read it as a slash), no scheme or host, and nothing absurdly long.
    """
    if (
        not target
        or len(target) > MAX_NEXT_LENGTH
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or any(ord(c) < 32 or ord(c) == 127 for c in target)
    ):
        return None
    parts = urlsplit(target)
    return None if parts.scheme or parts.netloc else target


def _forget_failures_for_account() -> None:
    """Start the count of wrong passwords for the account again, after it signed in."""
    for request_limit in limiter.current_limits:
        if request_limit.request_args[-1].endswith(ACCOUNT_SCOPE):
            limiter.limiter.clear(request_limit.limit, *request_limit.request_args)


# Only wrong passwords count (deduct_when); once an account or an address has reached its
# limit, sign-in is refused with 429 before the password is even checked.
@bp.route("/sign-in", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["SIGN_IN_FAILURES_PER_ACCOUNT"],
    key_func=_typed_email,
    scope=ACCOUNT_SCOPE,
    methods=["POST"],
    deduct_when=_sign_in_failed,
)
@limiter.limit(
    lambda: current_app.config["SIGN_IN_FAILURES_PER_ADDRESS"],
    key_func=get_remote_address,
    scope=ADDRESS_SCOPE,
    methods=["POST"],
    deduct_when=_sign_in_failed,
)
def sign_in():
    g.sign_in_failed = False
    if current_user.is_authenticated:
        return redirect(home_url(current_user.role))
    form = SignInForm()
    if form.validate_on_submit():
        # One answer for a wrong email, a wrong password and a deactivated account alike.
        user = sign_in_with_password(
            db.session,
            email=form.email.data,
            password=form.password.data,
            address=get_remote_address(),
            user_agent=request.user_agent.string,
        )
        if user is None:
            # The attempt is kept in the sign-in history.
            forms.save()
            g.sign_in_failed = True
            logger.info("Failed sign-in from %s", get_remote_address())
            form.email.errors.append("Enter a correct email address and password")
        else:
            session_id = start_session(
                db.session, user, lifetime=current_app.config["SESSION_ABSOLUTE_LIFETIME"]
            )
            forms.save()
            _forget_failures_for_account()
            next_page = _safe_next(request.args.get("next"))
            # A new session for the signed-in person: nothing from before carries over.
            session.clear()
            login_user(user)
            session[SESSION_ID_KEY] = session_id
            session.permanent = True
            return redirect(next_page or home_url(user.role))
    return render_template("auth/sign_in.html", form=form)


@bp.post("/sign-out")
def sign_out():
    # Ended on the server too: a copy of the cookie signs no one in afterwards.
    end_session(db.session, session.get(SESSION_ID_KEY))
    forms.save()
    logout_user()
    session.clear()
    flash("You have signed out", "success")
    return redirect(url_for("auth.sign_in"))


@bp.get("/signed-out")
def signed_out():
    """Where a page sends the browser when the session has run out."""
    if current_user.is_authenticated:
        return redirect(home_url(current_user.role))
    return render_template("auth/signed_out.html")


@bp.post("/session/keep-alive")
@login_required
def keep_alive():
    """Restart the session's time-out: any signed-in request re-signs the session cookie."""
    return "", 204


@bp.route("/set-password/<token>", methods=["GET", "POST"])
def set_password_page(token: str):
    config = current_app.config
    try:
        user = user_for_set_password_token(
            db.session,
            token,
            secret_key=current_app.secret_key,
            max_age=config["SET_PASSWORD_LINK_MAX_AGE"],
        )
    except DomainError as error:
        return render_template("auth/link_not_valid.html", message=error.message), 400
    form = SetPasswordForm()

    def set_it():
        with acting_as(user):
            set_password(db.session, user, form.password.data)

    if form.validate_on_submit() and commit_or_show(form, set_it, default_field="password"):
        logout_user()
        session.clear()
        flash("Your password has been set. You can now sign in.", "success")
        return redirect(url_for("auth.sign_in"))
    return render_template("auth/set_password.html", form=form, user=user)
