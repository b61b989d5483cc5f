"""Security headers on every response, with a fresh nonce for each page's inline scripts."""

import secrets

from flask import Blueprint, current_app, g, session

from tracker.api import is_api_request

bp = Blueprint("security", __name__)


@bp.before_app_request
def new_nonce() -> None:
    # Made afresh for each request, even where one app context outlives several (as in tests).
    g.csp_nonce = secrets.token_urlsafe(16)


def csp_nonce() -> str:
    """Return this request's nonce: only inline scripts that carry it may run."""
    if "csp_nonce" not in g:
        new_nonce()
    return g.csp_nonce


def content_security_policy(nonce: str) -> str:
    # Everything the pages need is served from here; nothing may frame them.
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            "style-src 'self'",
            "img-src 'self'",
            "font-src 'self'",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


@bp.app_context_processor
def nonce_for_templates() -> dict:
    # govuk-frontend-jinja's template.html puts cspNonce on its own inline script.
    return {"cspNonce": csp_nonce()}


@bp.after_app_request
def set_security_headers(response):
    response.headers["Content-Security-Policy"] = content_security_policy(csp_nonce())
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    if current_app.config.get("SESSION_COOKIE_SECURE"):
        response.headers.setdefault(
            "Strict-Transport-Security", "max-age=31536000; includeSubDomains"
        )
    # Pages seen when signed in show people's records: keep them out of shared caches and the
    # browser's back-button history after signing out. The session is read, not the user, so
    # that this works even when the database does not.
    if "_user_id" in session or is_api_request():
        # The API's answers too: each is for one token's eyes.
        response.headers["Cache-Control"] = "no-store"
    return response
