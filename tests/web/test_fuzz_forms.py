"""Hypothesis types anything at all into every form and filter of the pages: never a 500.

Each form is found on its page (its method, action and fields, as a browser would), so a
field added later is typed into too. Runs on PostgreSQL, the stricter of the two databases
(a NUL, an over-long string or a number out of range is an error there, not a value).
"""

import itertools
from datetime import date

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests import factories
from tests.browser import page, sign_in
from tests.reminders.helpers import funded_claim
from tests.web.conftest import PASSWORD, RequestByRequestClient, create_account
from tracker.extensions import limiter
from tracker.input_guard import MAX_FIELD_CHARS
from tracker.models import Role

# What has broken services before: a NUL, line breaks in what becomes a header, numbers no
# column holds, and the longest text each kind of field takes, just over.
TROUBLE = st.sampled_from(
    [
        "\x00",
        "a\x00b",
        "Ada\x00@example.com",
        "\r\n",
        "x\rBcc: a@b.c",
        "-1",
        "0",
        "2147483648",
        "99999999999999999999",
        "1e309",
        "${",
        "a" * 121,
        "a" * 201,
        "a" * 255 + "@example.com",
        "a" * 5001,
    ]
)
# Whatever a person (or a script) can send in a form field, that among it.
TYPED = st.one_of(
    TROUBLE,
    st.text(st.characters(exclude_categories=["Cs"]), max_size=40),
    st.text(st.characters(max_codepoint=0x7F), max_size=40),
    st.integers().map(str),
)


class _TooLong(str):
    """Longer than any field takes, with a short repr for Hypothesis's reports."""

    def __repr__(self) -> str:
        return f"<{len(self):,} characters>"


# Rarely: longer than any field takes.
ODD_TEXT = st.one_of(TYPED, TYPED, TYPED, st.just(_TooLong("a" * (MAX_FIELD_CHARS + 1))))
PATH_PART = st.one_of(
    st.text(st.characters(exclude_categories=["Cs"], exclude_characters="/?#"), min_size=1),
    st.integers(min_value=0).map(str),
)


# A value each field accepts, by its name, so that an odd value in one field reaches the
# rules and the database rather than stopping at another field left empty.
_numbers = itertools.count(1)
NEXT_YEAR = str(date.today().year + 1)  # noqa: DTZ011
VALID = {
    "full_name": ["Test Person"],
    # New each time: a record made by one example must not stop the next at "already used".
    "email": lambda: [f"person{next(_numbers)}@example.com"],
    "trn": [""],
    "organisation": [""],
    "name": lambda: [f"Cohort {next(_numbers)}"],
    "places": ["10"],
    "note": ["A note"],
    "reason": ["personal"],
    "other_reason": [""],
    "effective_on": ["1", "9", NEXT_YEAR],
    "starts_on": ["1", "9", NEXT_YEAR],
    "ends_on": ["1", "6", str(int(NEXT_YEAR) + 1)],
    "declared_on": ["1", "1", str(int(NEXT_YEAR) - 1)],
}


def _forms(client, url: str):
    """Each form on the page: its method, where it goes, and each field with the values the
    page offers for it (its value, its options), and the form's CSRF token."""
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    found = []
    for form in page(response).select("form"):
        fields: dict[str, list[str]] = {}
        boxes: dict[str, int] = {}
        for field in form.select("input[name], textarea[name], select[name]"):
            if field["name"] == "csrf_token" or field.get("type") in ("file", "submit"):
                continue
            offered = fields.setdefault(field["name"], [])
            # A date is three boxes of one name (day, month, year), a choice one box.
            if field.get("type") not in ("radio", "checkbox"):
                boxes[field["name"]] = boxes.get(field["name"], 0) + 1
            if field.get("value"):
                offered.append(field["value"])
            offered.extend(o["value"] for o in field.select("option[value]") if o["value"])
            if field.name == "textarea" and field.text:
                offered.append(field.text)
        method = form.get("method", "get").upper()
        fields = {name: (offered, boxes.get(name, 1)) for name, offered in fields.items()}
        found.append((method, form.get("action") or url, fields))
    token = page(response).select_one("input[name=csrf_token]")
    return found, token["value"] if token else None


def _valid(name: str, offered: list[str], boxes: int, extra: dict) -> list[str]:
    if name in extra:
        return [extra[name]]
    if offered:  # what the page shows already (a form to change a record), or its first choice
        return offered[:boxes]
    valid = VALID.get(name, ["1"] * boxes)
    return valid() if callable(valid) else valid


def _odd(boxes: int):
    """Anything at all, in as many boxes as the field has (or one more)."""
    return st.lists(ODD_TEXT, min_size=boxes, max_size=boxes + 1)


def _send(client, method: str, action: str, data: dict, token):
    if method == "GET":
        return client.get(action, query_string=data)
    return client.post(action, data={**data, "csrf_token": token})


@pytest.fixture
def postgres_only(app):
    if app.config["BACKEND"] != "postgresql":
        pytest.skip("fuzzed on PostgreSQL, where more input can fail")


# Every page with a form, by who sees it; {cohort} and {claim} are this test's records.
PAGES = [
    (Role.DFE, "/admin/accounts/new"),
    (Role.DFE, "/dfe/reminders/npq-senco/no-progress"),
    (Role.DFE, "/dfe/reminders/outbox"),
    (Role.DFE, "/dfe/programmes/npq-senco/target"),
    (Role.DFE, "/dfe/programmes/npq-senco/allocations/set"),
    (Role.DFE, "/dfe/cohorts"),
    (Role.DFE, "/dfe/audit"),
    (Role.DFE, "/dashboard"),
    (Role.PROVIDER, "/provider/cohorts/new"),
    (Role.PROVIDER, "/provider/cohorts/{cohort}"),
    (Role.PROVIDER, "/provider/cohorts/{cohort}/edit"),
    (Role.PROVIDER, "/provider/cohorts/{cohort}/enrol"),
    (Role.PROVIDER, "/provider/claims/{claim}/declare"),
    (Role.PROVIDER, "/provider/claims/{claim}/withdraw"),
    (Role.PROVIDER, "/provider/claims/{claim}/defer"),
    (Role.PROVIDER, "/provider/claims/{claim}/move"),
    (Role.SETTING, "/setting/cohorts"),
    (Role.SETTING, "/setting/cohorts/{cohort}/claim"),
    (Role.LOCAL_AUTHORITY, "/local-authority/settings"),
    (Role.LOCAL_AUTHORITY, "/local-authority/claims"),
]


@pytest.fixture
def records(postgres_only, session):
    """A provider with a cohort, and a setting with a funded claim in it."""
    provider = factories.create_provider(session)
    cohort = factories.create_cohort(session, provider=provider, places=50)
    factories.create_cohort(session, provider=provider, prog=cohort.programme)  # to move to
    setting = factories.create_setting(session)
    claim = funded_claim(session, cohort, setting=setting)
    session.commit()
    return provider, cohort, setting, claim


@pytest.fixture
def browsers() -> dict:
    return {}


def _signed_in(app, session, role: Role, records) -> RequestByRequestClient:
    provider, _cohort, setting, _claim = records
    organisation = {Role.PROVIDER: provider.ukprn, Role.SETTING: setting.urn}.get(role)
    if role == Role.LOCAL_AUTHORITY:
        organisation = "201"
    user = create_account(session, role=role, organisation=organisation)
    browser = RequestByRequestClient(app, app.response_class)
    assert sign_in(browser, user.email, PASSWORD).status_code == 302
    return browser


@pytest.mark.parametrize(("role", "url"), PAGES)
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_no_form_answers_anything_typed_with_a_server_error(
    app, session, records, browsers, role, url, data
):
    provider, cohort, setting, claim = records
    if role not in browsers:  # signed in once per test, not per example
        browsers[role] = _signed_in(app, session, role, records)
    client = browsers[role]
    url = url.format(cohort=cohort.id, claim=claim.id)
    found, token = _forms(client, url)
    forms = [(m, a, f) for m, a, f in found if f and "sign-out" not in a]
    assert forms, f"no form on {url}"
    method, action, fields = data.draw(st.sampled_from(forms))
    # Every field as it would be accepted, then one or two of them anything at all.
    extra = {"setting": setting.urn, "provider": provider.ukprn}
    values = {name: _valid(name, *field, extra) for name, field in fields.items()}
    odd = data.draw(st.lists(st.sampled_from(sorted(fields)), min_size=1, max_size=2, unique=True))
    for name in odd:
        values[name] = data.draw(_odd(fields[name][1]), label=name)

    response = _send(client, method, action, values, token)

    event(f"{method} {action} answered {response.status_code}")  # see --hypothesis-show-statistics
    assert response.status_code < 500, (method, action, values)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    email=st.one_of(st.sampled_from(["dfe@example.com", "someone@example.com"]), ODD_TEXT),
    password=st.one_of(st.just(PASSWORD), ODD_TEXT.filter(bool)),
    next_page=st.one_of(st.sampled_from(["/dfe/", "/provider/"]), ODD_TEXT),
)
def test_signing_in_with_anything_typed_is_never_a_server_error(
    postgres_only, app, dfe_user, email, password, next_page
):
    limiter.reset()  # wrong passwords are counted: each example starts from none
    client = RequestByRequestClient(app, app.response_class)  # a browser not signed in
    _forms_found, token = _forms(client, "/sign-in")

    response = client.post(
        "/sign-in",
        query_string={"next": next_page},
        data={"email": email, "password": password, "csrf_token": token},
    )

    assert response.status_code < 500


@pytest.mark.parametrize(
    ("role", "pattern"),
    [
        (Role.DFE, "/admin/accounts/{}"),
        (Role.DFE, "/admin/accounts/{}/deactivate"),
        (Role.DFE, "/dfe/reminders/{}/{}"),
        (Role.DFE, "/dfe/programmes/{}"),
        (Role.DFE, "/dfe/cohorts/{}"),
        (Role.LOCAL_AUTHORITY, "/dashboard/la/{}"),
        (Role.LOCAL_AUTHORITY, "/dashboard/la/{}/export/{}.csv"),
        (Role.PROVIDER, "/provider/cohorts/{}"),
        (Role.PROVIDER, "/provider/claims/{}"),
        (Role.SETTING, "/setting/claims/{}"),
        (None, "/set-password/{}"),
        (None, "/reminders/stop/{}"),
    ],
)
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(parts=st.lists(PATH_PART, min_size=2, max_size=2))
def test_no_address_with_anything_in_it_is_a_server_error(
    app, session, records, browsers, role, pattern, parts
):
    if role not in browsers:
        browsers[role] = (
            _signed_in(app, session, role, records)
            if role
            else RequestByRequestClient(app, app.response_class)
        )
    address = pattern.format(*parts)

    response = browsers[role].get(address)

    assert response.status_code < 500, address
