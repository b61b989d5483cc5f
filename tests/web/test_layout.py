"""The GOV.UK shell every page shares: header, banner, footer, assets, CSP and error pages."""

import re
from importlib.metadata import version
from pathlib import Path

import pytest
from flask import url_for
from werkzeug.exceptions import InternalServerError

from tests.browser import error_summary, heading, page, sign_in, sign_out, submit, text
from tests.web.conftest import PASSWORD, RequestByRequestClient, create_account
from tracker.models import Role
from tracker.web.errors import http_error

STATIC = Path(__file__).resolve().parents[2] / "static"
# govuk-frontend-jinja's major version for each GOV.UK Frontend major it ports (its README).
JINJA_MAJOR_FOR_FRONTEND_MAJOR = {6: 4, 5: 3, 4: 2}


def test_a_page_has_the_govuk_shell(client):
    response = client.get("/sign-in")
    html = page(response)

    assert text(html.select_one("title")) == ("Sign in - SEND workforce training tracker - GOV.UK")
    assert html.select_one("a.govuk-skip-link")["href"] == "#main-content"
    assert html.select_one("main#main-content") is not None
    assert text(html.select_one(".govuk-service-navigation__service-name")) == (
        "SEND workforce training tracker"
    )
    assert text(html.select_one(".govuk-phase-banner__content__tag")) == "Beta"
    feedback = html.select_one(".govuk-phase-banner__text a")
    assert text(feedback) == "give your feedback by email"
    assert feedback["href"].startswith("mailto:")
    footer_links = {text(a): a["href"] for a in html.select(".govuk-footer__inline-list-item a")}
    assert footer_links == {
        "Accessibility statement": "/accessibility",
        "Cookies": "/cookies",
        "Privacy notice": "/privacy",
        "Published uptake figures": "/public/uptake",
        "API reference for training providers": "/api/v1/docs",
    }
    # Signed out, there is no navigation and no sign-out button.
    assert html.select(".govuk-service-navigation__item") == []


def test_every_inline_script_carries_the_nonce_of_the_csp_header(client):
    response = client.get("/sign-in")
    policy = response.headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    nonce = re.fullmatch(r"'self' 'nonce-([\w-]+)'", directives["script-src"]).group(1)
    assert "unsafe-inline" not in policy
    assert directives["frame-ancestors"] == "'none'"

    scripts = page(response).select("script")
    inline = [s for s in scripts if not s.has_attr("src")]
    assert len(inline) == 2  # GOV.UK's js-enabled class, and starting GOV.UK Frontend
    assert {s["nonce"] for s in inline} == {nonce}
    assert all(s["src"].startswith("/static/") for s in scripts if s.has_attr("src"))
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_nonce_is_new_for_every_response(client):
    first = client.get("/sign-in").headers["Content-Security-Policy"]
    second = client.get("/sign-in").headers["Content-Security-Policy"]
    assert first != second


def _served(client, url: str) -> bool:
    with client.get(url) as response:  # a static file is streamed: close it
        return response.status_code == 200


def test_the_stylesheet_script_and_fonts_are_served_from_here(client):
    html = page(client.get("/sign-in"))
    stylesheets = [link["href"] for link in html.select("link[rel=stylesheet]")]
    for href in stylesheets:
        assert _served(client, href), href

    css_href = next(h for h in stylesheets if "govuk-frontend" in h)
    with client.get(css_href) as response:
        css = response.get_data(as_text=True)
    base = css_href.rsplit("/", 1)[0]
    urls = set(re.findall(r"url\(([^)]+)\)", css))
    assert urls, "the stylesheet names its fonts and images"
    for relative in urls:
        # Relative to the stylesheet, so they work wherever static files are served from.
        assert not relative.startswith("/"), relative
        assert _served(client, f"{base}/{relative}"), relative

    script = html.select_one("script[src]")["src"]
    assert _served(client, script)
    assert _served(client, html.select_one("link[rel=manifest]")["href"])


def test_the_pinned_govuk_frontend_matches_the_jinja_port():
    pinned = (STATIC / "govuk-frontend" / "VERSION").read_text().strip()
    script = (STATIC / "govuk-frontend" / "govuk-frontend.min.js").read_text()
    css = (STATIC / "govuk-frontend" / "govuk-frontend.min.css").read_text()
    assert f'const version="{pinned}"' in script
    assert f'--govuk-frontend-version:"{pinned}"' in css

    frontend_major = int(pinned.split(".")[0])
    jinja_major = int(version("govuk-frontend-jinja").split(".")[0])
    assert JINJA_MAJOR_FOR_FRONTEND_MAJOR[frontend_major] == jinja_major


@pytest.mark.parametrize(
    ("path", "title"),
    [
        ("/accessibility", "Accessibility statement for the SEND workforce training tracker"),
        ("/privacy", "Privacy notice"),
        ("/cookies", "Cookies"),
    ],
)
def test_the_content_pages_render(client, path, title):
    response = client.get(path)
    assert response.status_code == 200
    assert heading(response) == title
    html = page(response)
    assert len(html.select("main h2")) >= 2


def test_the_cookies_page_names_the_cookie_the_service_sets(app, client):
    rows = page(client.get("/cookies")).select("table[data-cookies] tbody tr")
    names = [text(row.select_one("td")) for row in rows]
    assert names == [app.config["SESSION_COOKIE_NAME"]]
    assert "30 minutes" in text(rows[0])


def test_an_unknown_page_is_not_found(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert heading(response) == "Page not found"
    assert text(page(response).select_one("title")).startswith("Page not found - ")


def test_a_wrong_method_gets_the_govuk_page(client):
    response = client.get("/sign-out")
    assert response.status_code == 405
    assert heading(response) == "Sorry, there is a problem with your request"
    assert "POST" in response.headers["Allow"]


def test_the_server_error_page_needs_nothing_from_the_database(app):
    with app.test_request_context("/dfe/"):
        body, status, _ = http_error(InternalServerError())
    html = page(app.response_class(body))
    assert status == 500
    assert text(html.select_one("h1")) == "Sorry, there is a problem with the service"
    assert html.select(".govuk-service-navigation__item") == []


def test_signed_in_pages_are_not_cached_and_warn_before_the_session_ends(app, client, dfe_user):
    sign_in(client, dfe_user.email, PASSWORD)
    response = client.get("/dfe/")
    assert response.headers["Cache-Control"] == "no-store"

    html = page(response)
    dialog = html.select_one("dialog#session-timeout")
    lifetime = app.config["PERMANENT_SESSION_LIFETIME"].total_seconds()
    warning = app.config["SESSION_TIMEOUT_WARNING"].total_seconds()
    assert int(dialog["data-sign-out-after"]) == lifetime == 30 * 60
    assert int(dialog["data-warn-after"]) == lifetime - warning == 28 * 60
    with app.test_request_context():
        assert dialog["data-keep-alive-url"] == url_for("auth.keep_alive")
    assert "in 2 minutes" in text(dialog)
    nonce = re.search(r"'nonce-([\w-]+)'", response.headers["Content-Security-Policy"]).group(1)
    assert dialog.find_next_sibling("script")["nonce"] == nonce


def test_signed_out_pages_have_no_time_out_warning(client):
    assert page(client.get("/sign-in")).select_one("dialog#session-timeout") is None


def test_each_person_gets_the_navigation_of_their_role_with_their_own_sign_out_token(app, session):
    people = {}
    for role in (Role.DFE, Role.DFE, Role.PROVIDER):
        user = create_account(session, role=role)
        client = RequestByRequestClient(app, app.response_class)
        assert sign_in(client, user.email, PASSWORD).status_code == 302
        html = page(client.get("/provider/cohorts" if role == Role.PROVIDER else "/dfe/cohorts"))
        items = [text(a) for a in html.select(".govuk-service-navigation__item")]
        current = text(html.select_one(".govuk-service-navigation__item--active"))
        token = html.select_one(".app-service-navigation__sign-out input[name=csrf_token]")["value"]
        people[user.email] = (role, items, current, token, client)

    tokens = {token for _, _, _, token, _ in people.values()}
    assert len(tokens) == 3
    for role, items, current, _token, client in people.values():
        assert current == "Cohorts"
        assert items[-1] == "Sign out"
        assert ("Audit trail" in items) == (role == Role.DFE)
        # Each person's form signs them out.
        assert sign_out(client).status_code == 302
        assert client.get("/dfe/cohorts").status_code == 302


@pytest.mark.parametrize(
    ("url", "data"),
    [
        ("/dfe/programmes/ey-senco-l3/target", {"places": "", "effective_on": ["31", "2", "x"]}),
        ("/dashboard?claimed_from=31&claimed_from=2&claimed_from=2025&claimed_to=1", None),
        ("/dfe/audit?occurred_from=1&occurred_to=31&occurred_to=2&occurred_to=2025", None),
        ("/dfe/cohorts?status=bogus", None),
    ],
)
def test_every_error_summary_link_lands_on_an_input(client, dfe_user, url, data):
    """Following a message in the error summary moves focus to an input, a date's day box."""
    assert sign_in(client, dfe_user.email, PASSWORD).status_code == 302
    response = client.get(url) if data is None else submit(client, url, data)

    html = page(response)
    links = [href for _, href in error_summary(response)]
    assert links, "no error shown"
    for href in links:
        target = html.find(id=href[1:])
        assert target is not None and target.name in ("input", "select", "textarea"), href


def test_forms_post_to_their_page_without_a_fragment(client, dfe_user):
    """After the skip link, #main-content would otherwise ride through a post and its
    redirect, and the next page's error summary or banner would not take focus."""
    response = client.get("/sign-in?next=%2Fdfe%2F")
    [form] = page(response).select("form[method=post]")
    assert form["action"] == "/sign-in?next=%2Fdfe%2F"

    assert sign_in(client, dfe_user.email, PASSWORD).status_code == 302
    for url in ("/dfe/programmes/ey-senco-l3/target", "/admin/accounts/new"):
        for form in page(client.get(url)).select("main form[method=post]"):
            assert "#" not in form["action"] and form["action"].startswith(url), url
