"""flask-smorest's Api, answering errors as problem+json and documenting them so."""

import http

from flask_smorest import Api
from flask_smorest.pagination import PaginationMetadataSchema

from tracker.api import is_api_request
from tracker.api.problems import PROBLEM_JSON, ProblemSchema, handle_http_exception

HEADERS = {
    401: {
        "WWW-Authenticate": {
            "description": "How to authenticate: a bearer token",
            "schema": {"type": "string"},
        }
    },
    429: {
        "Retry-After": {
            "description": "Seconds to wait before sending another request",
            "schema": {"type": "string"},
        }
    },
}

# The header holds JSON text: OpenAPI says so with `content`, where a `schema` (as
# flask-smorest documents it) would mean names and values separated by commas.
PAGINATION_HEADER = {
    "description": "Where the page lies in the list, as JSON: the body's `meta` counts and "
    "the numbers of the first, last, previous and next pages",
    "content": {"application/json": {"schema": PaginationMetadataSchema}},
}


class TrackerApi(Api):
    """The API's errors are RFC 9457 problem details, in its answers and in its document."""

    ERROR_SCHEMA = ProblemSchema

    def init_app(self, app, *, spec_kwargs=None):
        super().init_app(app, spec_kwargs=spec_kwargs)
        # flask-smorest has registered its responses (errors in application/json) and its
        # X-Pagination header lazily, under the names its decorators refer to; registered
        # lazily again under the same name, a component takes the place of the first.
        problem = {PROBLEM_JSON: {"schema": self.ERROR_SCHEMA}}
        for status in http.HTTPStatus:
            response: dict = {"description": status.phrase}
            if status >= 400:
                response["content"] = problem
                if status in HEADERS:
                    response["headers"] = HEADERS[status]
            self.spec.components.response(status.name, response, lazy=True)
        self.spec.components.response(
            self.DEFAULT_ERROR_RESPONSE_NAME,
            {"description": "Any other error", "content": problem},
            lazy=True,
        )
        self.spec.components.header("PAGINATION", PAGINATION_HEADER, lazy=True)

    def handle_http_exception(self, error):
        """Answer an HTTP error under the API as a problem; leave any other to the pages."""
        # flask-smorest registers this for every HTTPException of the whole app, pages and
        # all (the pages' handler, registered later, takes its place and hands it the API's
        # paths); an unknown path or method under the API matches no blueprint of its own.
        if is_api_request():
            return handle_http_exception(error)
        return error
