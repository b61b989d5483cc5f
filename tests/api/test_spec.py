"""The document describes errors as they are answered: RFC 9457 problem details."""

from werkzeug.exceptions import MethodNotAllowed, NotFound


def test_every_error_in_the_document_is_a_problem(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    responses = spec["components"]["responses"]

    referred = {
        response["$ref"].rsplit("/", 1)[-1]
        for item in spec["paths"].values()
        for method, operation in item.items()
        if method != "parameters"
        for code, response in operation["responses"].items()
        if code == "default" or int(code) >= 400
    }
    assert {"DEFAULT_ERROR", "UNPROCESSABLE_ENTITY", "UNAUTHORIZED"} <= referred <= set(responses)
    for name in referred:
        assert responses[name]["content"] == {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        }
    assert set(responses["UNAUTHORIZED"]["headers"]) == {"WWW-Authenticate"}
    assert set(responses["TOO_MANY_REQUESTS"]["headers"]) == {"Retry-After"}
    assert "Error" not in spec["components"]["schemas"]  # flask-smorest's own error body


def test_the_apis_error_handler_answers_its_paths_with_problems(app):
    api = app.extensions["tracker_api"]

    with app.test_request_context("/api/v1/no-such-thing"):
        answer = api.handle_http_exception(NotFound())
    with app.test_request_context("/no-such-page"):
        page = api.handle_http_exception(MethodNotAllowed())

    assert (answer.status_code, answer.mimetype) == (404, "application/problem+json")
    assert isinstance(page, MethodNotAllowed)  # left to the pages' own handler
