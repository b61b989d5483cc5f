"""flask-smorest's Api, answering errors as problem+json and documenting them so."""

import http

from flask_smorest import Api
from flask_smorest.utils import prepare_response

from tracker.api.problems import PROBLEM_JSON, ProblemSchema

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


class TrackerApi(Api):
    ERROR_SCHEMA = ProblemSchema

    def _register_error_handlers(self):
        # flask-smorest would answer every error of the whole app in JSON; the pages keep
        # Flask's own, and the API blueprint registers problem+json handlers itself.
        pass

    def _register_responses(self):
        # As flask-smorest's, but errors are documented as application/problem+json.
        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
                if status in HEADERS:
                    response["headers"] = HEADERS[status]
            prepare_response(response, self.spec, PROBLEM_JSON)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Any other error", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_JSON)
        self.spec.components.response(self.DEFAULT_ERROR_RESPONSE_NAME, response, lazy=True)
