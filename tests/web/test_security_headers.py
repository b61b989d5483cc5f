"""Headers that keep pages and API answers where they belong."""

import pytest


def _directives(response) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    return dict(d.strip().split(" ", 1) for d in policy.split(";"))


def test_no_page_may_change_where_its_relative_links_point(client):
    assert _directives(client.get("/sign-in"))["base-uri"] == "'none'"


@pytest.fixture
def over_https(app):
    app.config["SESSION_COOKIE_SECURE"] = True
    yield
    app.config["SESSION_COOKIE_SECURE"] = False


def test_https_is_required_of_every_subdomain_too(client, over_https):
    hsts = client.get("/sign-in").headers["Strict-Transport-Security"]

    assert [part.strip() for part in hsts.split(";")] == ["max-age=31536000", "includeSubDomains"]


@pytest.mark.parametrize("path", ["/api/v1/programmes", "/api/v1/no-such-thing"])
def test_no_api_answer_is_kept_in_a_cache(client, path):
    # Refused (no token) or not found, an API answer is for its asker's eyes only.
    assert client.get(path).headers["Cache-Control"] == "no-store"
