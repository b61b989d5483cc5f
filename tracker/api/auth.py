"""Bearer tokens: who is asking and how often they may ask (what they may see: tracker.access)."""

from flask import g, request
from flask_limiter.util import get_remote_address

from tracker.access import API_ROLES
from tracker.api.problems import ApiProblem
from tracker.audit import set_actor
from tracker.extensions import db
from tracker.models import ApiToken, Role, User
from tracker.tokens import verify_token

UNAUTHORISED_HEADERS = {"WWW-Authenticate": 'Bearer realm="api"'}


_TOKEN_KEY = "tracker.api_token"  # noqa: S105  (a key of the WSGI environ)


def _bearer_secret() -> str | None:
    scheme, _, secret = request.headers.get("Authorization", "").strip().partition(" ")
    secret = secret.strip()
    return secret if scheme.lower() == "bearer" and secret else None


def _request_token() -> ApiToken | None:
    """The live token the request carries, looked up once per request (the rate limit asks
    first, before the API's own check)."""
    # Kept with this request, not in g: g may outlive one request (an app context pushed
    # around several, as in tests), and a token found for one must never serve another.
    if _TOKEN_KEY not in request.environ:
        secret = _bearer_secret()
        request.environ[_TOKEN_KEY] = verify_token(db.session, secret) if secret else None
    return request.environ[_TOKEN_KEY]


def authenticate() -> None:
    """Find the token the request carries and act as its user from here on."""
    if _bearer_secret() is None:
        raise ApiProblem(
            401, "Send a bearer token: Authorization: Bearer <token>", headers=UNAUTHORISED_HEADERS
        )
    token = _request_token()
    if token is None:
        raise ApiProblem(401, "The token is unknown or revoked", headers=UNAUTHORISED_HEADERS)
    if token.user.role not in API_ROLES:
        raise ApiProblem(403, "The API is for training providers and DfE")
    g.api_token = token
    g.audit_actor = set_actor(token.user)


def current_token() -> ApiToken:
    return g.api_token


def current_user() -> User:
    return g.api_token.user


def is_dfe() -> bool:
    return current_user().role == Role.DFE


def require_dfe() -> None:
    if not is_dfe():
        raise ApiProblem(403, "Only DfE tokens may use this")


def rate_limit_key() -> str:
    """Count requests per verified token, however its header is spelt; requests with no
    token, or one that is unknown or revoked, per address."""
    token = _request_token()
    if token is not None:
        return f"token:{token.id}"
    return "address:" + (get_remote_address() or "unknown")
