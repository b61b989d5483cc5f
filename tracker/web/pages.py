"""The pages anyone may read: the start of the service and what the footer links to."""

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user

from tracker.web.layout import home_url

bp = Blueprint("pages", __name__)


@bp.get("/")
def index():
    if current_user.is_authenticated:
        return redirect(home_url(current_user.role))
    return redirect(url_for("auth.sign_in"))


@bp.get("/accessibility")
def accessibility():
    return render_template("pages/accessibility.html")


@bp.get("/privacy")
def privacy():
    return render_template("pages/privacy.html")


@bp.get("/cookies")
def cookies():
    return render_template("pages/cookies.html")
