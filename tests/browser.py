"""Read pages as a browser would: parsed HTML, visible text, and forms sent with their CSRF token.

CSRF protection is on in the tests (TestConfig), so a form is sent the way a browser sends
it: fetch the page, take the token from the form, post it back with the fields.
"""

from bs4 import BeautifulSoup


def page(response) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def text(node) -> str:
    """The text a person reads in a node, with whitespace collapsed."""
    return " ".join(node.get_text(" ").split()) if node is not None else ""


def heading(response) -> str:
    return text(page(response).select_one("h1"))


def error_summary(response) -> list[tuple[str, str | None]]:
    """Each item of the GOV.UK error summary, as (message, the field it links to, if any)."""
    items = page(response).select(".govuk-error-summary__list li")
    return [(text(item), item.a["href"] if item.a else None) for item in items]


def banner(response) -> str:
    return text(page(response).select_one(".govuk-notification-banner__content"))


def csrf_token(client, url: str) -> str:
    """The CSRF token of the first form on the page at ``url``."""
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    field = page(response).select_one("form input[name=csrf_token]")
    assert field is not None, f"no form with a CSRF token on {url}"
    return field["value"]


def submit(client, url: str, data: dict | None = None, *, form_url: str | None = None):
    """Send the form found at ``form_url`` (``url`` unless given) to ``url``, with ``data``."""
    token = csrf_token(client, form_url or url)
    return client.post(url, data={**(data or {}), "csrf_token": token})


def sign_in(client, email: str, password: str):
    return submit(client, "/sign-in", {"email": email, "password": password})


def sign_out(client):
    """Press "Sign out" in the header of a signed-in page."""
    response = client.get("/", follow_redirects=True)
    form = page(response).select_one(".app-service-navigation__sign-out form")
    return client.post(form["action"], data={"csrf_token": form.select_one("input")["value"]})
