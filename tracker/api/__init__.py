"""The JSON API for training providers and DfE, under /api/v1, described by OpenAPI 3."""

from flask import Flask, request
from flask_smorest.spec.plugins import integerconverter2paramschema

API_PREFIX = "/api/v1"


def is_api_request() -> bool:
    """Whether the request in hand is for the API (its answers, errors included, are JSON)."""
    return request.path.startswith(API_PREFIX + "/")


SETTINGS = {
    "API_TITLE": "SEND workforce training tracker",
    "API_VERSION": "1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": API_PREFIX,
    "OPENAPI_JSON_PATH": "openapi.json",
    "API_SPEC_OPTIONS": {
        "info": {
            "description": (
                "For training providers' systems and DfE. Authenticate with a bearer token "
                "(`flask tracker create-token --email ...`); a provider's token sees only "
                "its provider's cohorts and enrolments. Every POST accepts an "
                "Idempotency-Key header. Lists come a page at a time (`page`, and "
                "`page_size` up to 100): `links.next` is the next page's path, and the "
                "X-Pagination header gives the counts as JSON. A page past the end is "
                "empty. Errors are RFC 9457 problem details "
                "(application/problem+json) whose `errors` name each field and the reason: "
                "401 no valid token; 403 the token's role may not do this; 404 no such "
                "record, or not one this token may see; 422 the request breaks a rule (a "
                "field not valid, a cap or date rule, a declaration out of order or made "
                "twice, an Idempotency-Key reused for another request); 409 the request "
                "conflicted with a change made at the same moment (send it again); 429 too "
                "many requests from this token: Retry-After says how many seconds to wait."
            )
        },
        "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearerAuth": []}],
    },
}


def init_api(app: Flask) -> None:
    """Serve the API and its OpenAPI document (JSON, and a page to read it) on the app."""
    from tracker.api.reference import reference_page
    from tracker.api.spec import TrackerApi
    from tracker.api.views import blp
    from tracker.extensions import csrf
    from tracker.input_guard import IdConverter

    for key, value in SETTINGS.items():
        app.config.setdefault(key, value)
    api = TrackerApi(app)
    # Ids in paths are documented with the bounds the app's <int:...> keeps to.
    api.register_converter(IdConverter, integerconverter2paramschema)
    api.register_blueprint(blp)
    app.extensions["tracker_api"] = api
    app.add_url_rule(f"{API_PREFIX}/docs", "api_reference", reference_page)
    # Bearer tokens, never cookies: no cross-site request can carry the credentials.
    csrf.exempt(blp)
