"""Who may reach what: every route and every API operation, asked by every role.

The tables below say which roles each route of the app's URL map (``PAGES``) and each
operation of the OpenAPI document (``API``) is for; a route or operation missing from them
fails ``test_every_route_and_operation_is_in_the_tables``, so a new one is classified before
it ships. Then each role, and a stranger (signed out, or with no token), asks for all of them:

- a role a route is not for is refused: 403, or a stranger sent to sign in (401 from the API);
- a role it is for is answered, on its own records;
- naming another organisation's records (another provider's cohort or claim, another
  setting's claim, another local authority's area) is refused, with 403 or 404;
- no answer shows a role the name of a person, setting, cohort or provider it may not read
  (``tracker.access``), whatever the route.

Reads are sent as GET. A change is sent only where it must be refused (a form with its CSRF
token and nothing else), or, in the API, with a body that changes nothing or that a rule
refuses once access is granted (422): so nothing changes, and the records are made once
for the module. On SQLite only: who may
reach a route does not depend on the database, and the scopes' queries run on both in
tests/web and tests/api.
"""

import re
from dataclasses import dataclass
from datetime import date

import pytest
import sqlalchemy as sa
from flask import url_for

from tests import factories
from tests.browser import csrf_token, sign_in
from tests.conftest import RequestByRequestClient, app_on
from tests.web.conftest import PASSWORD, create_account
from tracker import access, figures, places
from tracker.accounts import set_password_token
from tracker.extensions import db, limiter
from tracker.models import (
    ApiToken,
    Claim,
    ClaimStatus,
    ParticipantConflict,
    Region,
    RegionQuota,
    Role,
)
from tracker.publication import publish
from tracker.reminders.defaults import NO_PROGRESS
from tracker.reminders.tokens import make_unsubscribe_token
from tracker.tokens import create_token, hash_token

D, P, S, L = Role.DFE, Role.PROVIDER, Role.SETTING, Role.LOCAL_AUTHORITY
STRANGER = None  # signed out, or no token
ROLES = (STRANGER, D, P, S, L)
ANYONE = frozenset(ROLES)
SIGNED_IN = frozenset({D, P, S, L})

# Which roles each route is for (an API operation's route is in API below).
PAGES = {
    "static": ANYONE,
    "health.healthz": ANYONE,
    "pages.index": ANYONE,
    "pages.accessibility": ANYONE,
    "pages.privacy": ANYONE,
    "pages.cookies": ANYONE,
    "public.uptake_page": ANYONE,
    "public.uptake_export": ANYONE,
    "api-docs.openapi_json": ANYONE,
    "api_reference": ANYONE,
    "auth.sign_in": ANYONE,
    "auth.sign_out": ANYONE,
    "auth.signed_out": ANYONE,
    # The token in the link is the key: it is sent to the person, by email.
    "auth.set_password_page": ANYONE,
    "reminder_links.stop": ANYONE,
    "auth.keep_alive": SIGNED_IN,
    "admin.index": {D},
    "admin.accounts": {D},
    "admin.account": {D},
    "admin.create_account": {D},
    "admin.deactivate_account": {D},
    "dfe.home": {D},
    "dfe.audit": {D},
    "dfe.sign_ins": {D},
    "dfe.cohorts": {D},
    "dfe.cohort": {D},
    "dfe.conflicts": {D},
    "dfe.conflict": {D},
    "dfe.programmes": {D},
    "dfe.programme": {D},
    "dfe.allocations": {D},
    "dfe.set_allocation": {D},
    "dfe.change_quota": {D},
    "dfe.change_target": {D},
    "dfe.publication": {D},
    "dfe.publish": {D},
    "reminders.rules": {D},
    "reminders.change": {D},
    "reminders.outbox": {D},
    "reminders.preview": {D},
    # A local authority is sent on to its own area's dashboard.
    "dashboard.national": {D, L},
    "dashboard.national_export": {D},
    # A local authority's own area only.
    "dashboard.local": {D, L},
    "dashboard.local_export": {D, L},
    "provider.home": {P},
    "provider.cohorts": {P},
    "provider.create_cohort": {P},
    "provider.cohort": {P},
    "provider.edit_cohort": {P},
    "provider.close_cohort": {P},
    "provider.enrol": {P},
    "provider.upload_template": {P},
    "provider.upload": {P},
    "provider.declare_many": {P},
    "provider.claim": {P},
    "provider.declare": {P},
    "provider.withdraw": {P},
    "provider.defer": {P},
    "provider.move": {P},
    "provider.resume": {P},
    "setting.home": {S},
    "setting.find_cohorts": {S},
    "setting.claim_place": {S},
    "setting.claims": {S},
    "setting.claim": {S},
    "setting.withdraw": {S},
    "local_authority.home": {L},
    "local_authority.settings": {L},
    "local_authority.claims": {L},
}

# Which roles each operation of the API is for: providers' systems and DfE.
API_USERS = frozenset({D, P})
API = {
    ("GET", "/api/v1/programmes"): API_USERS,
    ("GET", "/api/v1/settings"): API_USERS,
    ("GET", "/api/v1/cohorts"): API_USERS,
    ("POST", "/api/v1/cohorts"): API_USERS,
    ("GET", "/api/v1/cohorts/{cohort_id}"): API_USERS,
    ("PATCH", "/api/v1/cohorts/{cohort_id}"): API_USERS,
    ("POST", "/api/v1/cohorts/{cohort_id}/claims"): API_USERS,
    ("GET", "/api/v1/enrolments"): API_USERS,
    ("GET", "/api/v1/enrolments/{enrolment_id}"): API_USERS,
    ("POST", "/api/v1/enrolments/{enrolment_id}/declarations"): API_USERS,
    ("POST", "/api/v1/enrolments/{enrolment_id}/withdrawal"): API_USERS,
    ("POST", "/api/v1/enrolments/{enrolment_id}/deferral"): API_USERS,
    ("POST", "/api/v1/enrolments/{enrolment_id}/resumption"): API_USERS,
    ("GET", "/api/v1/uptake"): frozenset({D}),
}

METHODS = {"GET", "POST", "PATCH", "PUT", "DELETE"}


@dataclass
class World:
    """The records asked for, and what each role may never be shown."""

    values: dict  # each path value, naming the records of the organisations signed in
    special: dict  # endpoint or API operation: path values of a record of the kind it needs
    theirs: dict  # role: path values naming another organisation's records instead
    theirs_special: dict  # role: {endpoint: path values}
    asks: dict  # role: more requests naming another organisation's records: (page, API)
    bodies: dict  # API operation: (owner's body, body naming another organisation's)
    unseen: dict  # role: names it may never be shown
    users: dict
    secrets: dict
    ids: dict


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    with app_on("sqlite", tmp_path_factory) as app:
        limiter.reset()
        yield app
        limiter.reset()


@pytest.fixture(scope="module")
def world(app) -> World:
    """Two of each kind of organisation: the one signed in (mine), and another (theirs)."""
    session = db.session
    today = date.today()  # noqa: DTZ011  (cohorts start on calendar dates)
    ey = factories.programme(session, "ey-senco-l3")
    ep = factories.programme(session, "ep-doctorate")
    mine = factories.create_provider(session, name="Alderbrook Training")
    theirs = factories.create_provider(session, name="Zephyrine Learning Trust")
    my_setting = factories.create_setting(session, la_code="201", name="Acorn Nursery")
    their_setting = factories.create_setting(session, la_code="202", name="Bramblewood Nursery")
    la_201 = factories.local_authority(session, "201")
    la_202 = factories.local_authority(session, "202")
    c1 = factories.create_cohort(session, prog=ey, provider=mine, name="Cohort Larkspur")
    c2 = factories.create_cohort(session, prog=ey, provider=theirs, name="Cohort Quillon")
    ep1 = factories.create_cohort(session, prog=ep, provider=mine, name="EP Juniper")
    ep2 = factories.create_cohort(session, prog=ep, provider=theirs, name="EP Thornfield")

    def claim(cohort, name, email=None, **where):
        email = email or name.lower().replace(" ", ".") + "@example.com"
        return places.claim_place(session, cohort, full_name=name, email=email, **where).claim

    k1 = claim(c1, "Kit Marlowe", setting=my_setting)
    k2 = claim(c2, "Kay Vantongeren", setting=their_setting)
    d1 = claim(c1, "Dot Deferred", setting=my_setting)
    d2 = claim(c2, "Dee Ostrowska", setting=their_setting)
    w1 = claim(c1, "Win Withdrawn", setting=my_setting)
    places.defer(session, d1, reason="On leave")
    places.defer(session, d2, reason="On leave")
    places.withdraw(session, w1, reason="Left")
    # EP trainees have no setting: each counts in the area of their placement.
    x1 = claim(ep1, "Xan Placed Here", local_authority=la_201)
    x2 = claim(ep1, "Xeno Placedelsewhere", local_authority=la_202)
    # Kit Marlowe again, named otherwise by another provider: a conflict for DfE.
    k3 = claim(ep2, "Christopher Marlowe", email=k1.email, local_authority=la_202)
    conflict = session.scalar(sa.select(ParticipantConflict))
    london = session.scalar(sa.select(Region).where(Region.name == "London"))
    quota = RegionQuota(programme=ey, name="London and the South East", places=900)
    quota.regions = [london]
    session.add(quota)
    publish(session, by="test")
    users = {
        D: create_account(session, role=D),
        P: create_account(session, role=P, organisation=mine.ukprn),
        S: create_account(session, role=S, organisation=my_setting.urn),
        L: create_account(session, role=L, organisation="201"),
    }
    invited = create_account(session, role=S, organisation=my_setting.urn, password=None)
    secrets = {role: _token(session, user) for role, user in users.items()}
    session.commit()
    assert k1.status == ClaimStatus.FUNDED and k2.status == ClaimStatus.FUNDED

    people = {c: [c.full_name, c.email] for c in (k1, k2, d1, d2, w1, x1, x2)}
    people[k3] = [k3.full_name]  # the email address is Kit Marlowe's
    declare = f"/provider/cohorts/{c1.id}/declarations"
    return World(
        values={
            "cohort_id": c1.id,
            "claim_id": k1.id,
            "enrolment_id": k1.id,
            "la_code": "201",
            "user_id": invited.id,
            "conflict_id": conflict.id,
            "quota_id": quota.id,
            "code": ey.code,
            "programme_code": ey.code,
            "table": "uptake",
            "kind": "csv",
            "filename": "css/application.css",
        },
        special={
            "provider.resume": {"claim_id": d1.id},
            "reminders.change": {"code": NO_PROGRESS},
            "public.uptake_export": {"table": f"public-{ey.code}"},
            "auth.set_password_page": {
                "token": set_password_token(invited, secret_key=app.secret_key)
            },
            "reminder_links.stop": {"token": make_unsubscribe_token(k1.participant_id)},
            # Ended already: a rule refuses to end it again, once access is granted.
            ("POST", "/api/v1/enrolments/{enrolment_id}/withdrawal"): {"enrolment_id": w1.id},
            ("POST", "/api/v1/enrolments/{enrolment_id}/deferral"): {"enrolment_id": w1.id},
        },
        theirs={
            P: {"cohort_id": c2.id, "claim_id": k2.id, "enrolment_id": k2.id},
            # A cohort on a programme not open to a nursery's staff.
            S: {"claim_id": k2.id, "cohort_id": ep2.id},
            L: {"la_code": "202"},
        },
        theirs_special={P: {"provider.resume": {"claim_id": d2.id}}},
        asks={
            P: (
                [
                    # Another provider's participant, ticked on a page of my own cohort.
                    ("GET", f"{declare}?claims={k2.id}", None, {404}),
                    ("POST", declare, {"claims": k2.id}, {404}),
                ],
                [
                    ("GET", f"/api/v1/enrolments?cohort={c2.id}", None, {200}),
                    ("GET", f"/api/v1/cohorts/{c2.id}", None, {404}),
                    # My participant resumed in another provider's cohort: none to be seen.
                    ("POST", f"/api/v1/enrolments/{d1.id}/resumption", {"cohort": c2.id}, {422}),
                ],
            ),
            L: (
                [
                    ("GET", f"/local-authority/claims?setting={their_setting.urn}", None, {200}),
                    ("GET", f"/local-authority/settings?q={their_setting.urn}", None, {200}),
                    ("GET", "/local-authority/settings?q=Bramblewood", None, {200}),
                ],
                [],
            ),
        },
        bodies=_bodies(c1, mine.ukprn, theirs.ukprn, today),
        unseen={
            STRANGER: [
                *(name for names in people.values() for name in names),
                *(s.name for s in (my_setting, their_setting)),
                *(c.name for c in (c1, c2, ep1, ep2)),
                *(p.name for p in (mine, theirs)),
            ],
            D: [],
            P: [*people[k2], *people[d2], *people[k3], c2.name, ep2.name, theirs.name],
            S: [
                *(name for c in (k2, d2, x1, x2, k3) for name in people[c]),
                their_setting.name,
                ep1.name,
                ep2.name,
            ],
            L: [
                *(name for c in (k2, d2, x2, k3) for name in people[c]),
                their_setting.name,
                c2.name,
                ep2.name,
                theirs.name,
            ],
        },
        users=users,
        secrets=secrets,
        ids={"in_area_201": {k1.id, d1.id, w1.id, x1.id}, "la_201": la_201.id},
    )


def _token(session, user) -> str:
    """A token for the account; for roles the API is not for, one made as if by mistake."""
    if user.role in access.API_ROLES:
        return create_token(session, user)[1]
    secret = f"swt_not-for-the-api-{user.role.value}"
    session.add(ApiToken(user=user, token_hash=hash_token(secret), prefix=secret[:12]))
    return secret


def _bodies(cohort, my_ukprn: str, their_ukprn: str, today: date) -> dict:
    """For each API change: the owner's body, refused by a rule of the domain once access is
    granted (or changing nothing); and one naming another organisation's records."""
    new_cohort = {
        "programme": "ey-senco-l3",
        "name": cohort.name,  # taken
        "starts_on": cohort.starts_on.isoformat(),
        "ends_on": cohort.ends_on.isoformat(),
        "places": 1,
    }
    return {
        ("POST", "/api/v1/cohorts"): (
            {**new_cohort, "provider": my_ukprn},
            {**new_cohort, "provider": their_ukprn},
        ),
        ("PATCH", "/api/v1/cohorts/{cohort_id}"): ({}, {}),
        ("POST", "/api/v1/cohorts/{cohort_id}/claims"): (
            {"full_name": "No One", "email": "no.one@example.com", "setting": "EY999999"},
        )
        * 2,
        ("POST", "/api/v1/enrolments/{enrolment_id}/declarations"): (
            {"milestone": "no-such-milestone", "declared_on": today.isoformat()},
        )
        * 2,
        ("POST", "/api/v1/enrolments/{enrolment_id}/withdrawal"): ({"reason": "Left"},) * 2,
        ("POST", "/api/v1/enrolments/{enrolment_id}/deferral"): ({"reason": "On leave"},) * 2,
        # Not deferred: a rule refuses to resume it.
        ("POST", "/api/v1/enrolments/{enrolment_id}/resumption"): ({},) * 2,
    }


@pytest.fixture(scope="module")
def browsers(app, world) -> dict:
    """A browser for each role, signed in once, with the CSRF token of its session."""
    browsers = {}
    for role in ROLES:
        client = RequestByRequestClient(app, app.response_class)
        if role is not STRANGER:
            assert sign_in(client, world.users[role].email, PASSWORD).status_code == 302
        form_page = "/sign-in" if role is STRANGER else "/cookies"  # the header's sign-out form
        browsers[role] = (client, csrf_token(client, form_page))
    return browsers


# -- what the answers must be ------------------------------------------------------------


def _sent_to_sign_in(response) -> bool:
    return response.status_code == 302 and response.location.startswith("/sign-in?next=")


def _refused(role):
    if role is STRANGER:
        return _sent_to_sign_in
    return lambda response: response.status_code in (403, 404)


def _answered(response) -> bool:
    return response.status_code < 400 and not _sent_to_sign_in(response)


def _one_of(statuses: set[int]):
    return lambda response: response.status_code in statuses


class Asker:
    """Sends requests as one role; keeps each wrong answer, and each name shown that the
    role may never be shown."""

    def __init__(self, send, role, world):
        self.send, self.role, self.world = send, role, world
        self.wrong: list[str] = []

    def check(self, method: str, url: str, expected, data: dict | None = None) -> None:
        response = self.send(method, url, data)
        if not expected(response):
            self.wrong.append(f"{method} {url}: {response.status_code} {response.location or ''}")
        body = response.get_data(as_text=True)
        if shown := [name for name in self.world.unseen[self.role] if name in body]:
            self.wrong.append(f"{method} {url} shows {shown}")
        response.close()

    def check_asks(self, asks) -> None:
        for method, url, data, statuses in asks:
            self.check(method, url, _one_of(statuses), data)


def _rules(app) -> list:
    return sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint))


def _is_operation(rule) -> bool:
    return rule.endpoint.startswith("api.")


def _documented_path(rule) -> str:
    """The rule's path as the OpenAPI document writes it: /cohorts/{cohort_id}."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)


ROLE_IDS = [getattr(role, "value", "stranger") for role in ROLES]


# -- the tables cover every route --------------------------------------------------------


def test_every_route_and_operation_is_in_the_tables(app):
    assert set(Role) == SIGNED_IN, "a new role: add it to ROLES, the tables and World"
    pages = {rule.endpoint for rule in _rules(app) if not _is_operation(rule)}
    assert pages - PAGES.keys() == set(), "routes no one has said who may use"
    assert PAGES.keys() - pages == set(), "routes that are gone"
    operations = {
        (method, _documented_path(rule))
        for rule in _rules(app)
        if _is_operation(rule)
        for method in rule.methods & METHODS
    }
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    documented = {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method.upper() in METHODS
    }
    assert operations == documented
    assert documented - API.keys() == set(), "operations no one has said who may use"
    assert API.keys() - documented == set(), "operations that are gone"


# -- pages -------------------------------------------------------------------------------


def _page_url(app, rule, values: dict) -> str:
    with app.test_request_context():
        return url_for(rule.endpoint, **{name: values[name] for name in rule.arguments})


@pytest.mark.parametrize("role", ROLES, ids=ROLE_IDS)
def test_each_page_answers_only_the_roles_it_is_for(app, world, browsers, role):
    client, token = browsers[role]

    def send(method, url, data):
        if method == "GET":
            return client.get(url)
        return client.post(url, data={**(data or {}), "csrf_token": token})

    asker = Asker(send, role, world)
    for rule in _rules(app):
        if _is_operation(rule):
            continue
        allowed = role in PAGES[rule.endpoint]
        methods = rule.methods & METHODS
        mine = {**world.values, **world.special.get(rule.endpoint, {})}
        url = _page_url(app, rule, mine)
        if "GET" in methods:
            asker.check("GET", url, _answered if allowed else _refused(role))
        # A form is sent only where it must be refused: nothing changes.
        if "POST" in methods and not allowed:
            asker.check("POST", url, _refused(role))
        if allowed and role in world.theirs:
            theirs = {
                **mine,
                **world.theirs[role],
                **world.theirs_special.get(role, {}).get(rule.endpoint, {}),
            }
            their_url = _page_url(app, rule, theirs)
            if their_url != url:
                for method in methods:
                    asker.check(method, their_url, _one_of({403, 404}))
    asker.check_asks(world.asks.get(role, ([], []))[0])
    assert asker.wrong == []


# -- the API -----------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES, ids=ROLE_IDS)
def test_each_api_operation_answers_only_the_roles_it_is_for(app, world, role):
    client = RequestByRequestClient(app, app.response_class)
    headers = {} if role is STRANGER else {"Authorization": f"Bearer {world.secrets[role]}"}

    def send(method, url, body):
        return client.open(url, method=method, headers=headers, json=body)

    asker = Asker(send, role, world)
    refused = _one_of({401} if role is STRANGER else {403})
    for operation, roles in API.items():
        method, path = operation
        mine = {**world.values, **world.special.get(operation, {})}
        body, their_body = world.bodies.get(operation, (None, None))
        url = path.format(**mine)
        if role not in roles:
            asker.check(method, url, refused, body)
            continue
        # The owner's request gets past access: answered, or refused by a rule (422) after.
        asker.check(method, url, _one_of({200, 201} if method == "GET" else {200, 201, 422}), body)
        if role in world.theirs:
            their_url = path.format(**{**mine, **world.theirs[role]})
            if their_url != url or their_body != body:
                asker.check(method, their_url, _one_of({403, 404}), their_body)
    asker.check_asks(world.asks.get(role, ([], []))[1])
    assert asker.wrong == []


# -- a local authority's area ------------------------------------------------------------


def test_a_local_authority_reads_its_area_as_the_figures_count_it(world, browsers):
    """One definition of the area: the pages list, and the figures count, the same claims:
    those of its settings, and EP trainees placed in it."""
    client, _ = browsers[L]
    in_scope = access.claims(db.session, world.users[L]).with_only_columns(Claim.id)
    assert set(db.session.scalars(in_scope)) == world.ids["in_area_201"]
    area = figures.Scope(local_authority_id=world.ids["la_201"])
    counted = sum(figures.by_programme(db.session, area).values(), figures.Figures())
    assert counted.claimed == len(world.ids["in_area_201"])
    listed = client.get("/local-authority/claims").get_data(as_text=True)
    assert "Kit Marlowe" in listed
    assert "Xan Placed Here" in listed
    assert "Acorn Nursery" in client.get("/local-authority/settings").get_data(as_text=True)
