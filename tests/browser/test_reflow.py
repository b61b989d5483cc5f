"""Every page reflows (WCAG 2.2 1.4.10): read at 320 CSS px wide and at 200% zoom, no page
scrolls sideways, and neither axe-core nor HTML_CodeSniffer finds anything on it.

The pages are every route of the app that answers GET with HTML (read from ``app.url_map``,
so a new route is crawled or this test says it is missing), each visited as the role that
uses it, with its path filled in with records made here: long names and email addresses, as
real ones are, claims funded, waiting, deferred and withdrawn, a conflict, a reminder sent,
attempts to sign in from a long email address and a wordy browser.

200% zoom is a 640 x 450 CSS px viewport with a device scale factor of 2: that is what
Chromium's own zoom makes of a 1280 x 900 window (``window.innerWidth`` 640, media queries
and GOV.UK's breakpoints answering to 640 px, ``devicePixelRatio`` 2). CSS ``zoom`` on the
body (``document.body.style.zoom = 2``) would not do: the viewport stays 1280 px wide, so
media queries still see a desktop, and the page is laid out for a width it does not have.

One browser tab per role, signed in once; each page is loaded once, at 320 px, and laid
out again at 200% zoom and at 1280 px, so the crawl stays quick.
"""

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from tests import factories
from tests.chromium import sign_in
from tests.web.conftest import PASSWORD, create_account
from tracker import places
from tracker.accounts import set_password_token, sign_in_with_password
from tracker.extensions import db, limiter
from tracker.models import (
    LocalAuthority,
    ParticipantConflict,
    Region,
    RegionQuota,
    Role,
    SettingKind,
)
from tracker.progress import record_declaration
from tracker.reminders.audience import Recipient
from tracker.reminders.defaults import DEFAULT_RULES, NO_PROGRESS
from tracker.reminders.outbox import Due, queue
from tracker.reminders.tokens import make_unsubscribe_token

pytestmark = pytest.mark.slow  # processes, servers or a browser: `-m "not slow"` skips it

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips, or fails under REQUIRE_BROWSER=1, saying why
    expect = None

NARROW = {"width": 320, "height": 640, "scale": 1}
ZOOMED = {"width": 640, "height": 450, "scale": 2}  # a 1280 x 900 window at 200%
DESKTOP = {"width": 1280, "height": 900, "scale": 1}
# A dashboard briefs from its first screen: each programme's headline shows in the first
# 900 px at 1280 px wide, and no page of it is longer than 6,000 px there.
FIRST_SCREEN = 900
LONGEST_DASHBOARD = 6000
PROGRAMMES = 3

# GET routes that answer with something other than an HTML page: files and JSON.
NOT_PAGES = {
    "static",
    "health.healthz",
    "api-docs.openapi_json",
    "provider.upload_template",
    "dashboard.national_export",
    "dashboard.local_export",
    "public.uptake_export",
}
# Which role reads each blueprint's pages (None: signed out).
ROLE_OF = {
    "admin": Role.DFE,
    "dfe": Role.DFE,
    "reminders": Role.DFE,
    "provider": Role.PROVIDER,
    "setting": Role.SETTING,
    "local_authority": Role.LOCAL_AUTHORITY,
    "pages": None,
    "public": None,
    "auth": None,
    "reminder_links": None,
}
ROLE_OF_ENDPOINT = {
    "api_reference": None,
    "dashboard.national": Role.DFE,
    "dashboard.local": Role.LOCAL_AUTHORITY,
}
LONG_USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/140.0.0.0 Safari/537.36 Edg/140.0.0.0"
)
LONG_EMAIL = "oluwaseun.adebayo-richardson@stmarymagdalenesnurseryandchildrenscentre.example.org.uk"


def html_endpoints(app) -> dict[str, str]:
    """Each endpoint answering GET with an HTML page, with its rule."""
    return {
        rule.endpoint: rule.rule
        for rule in app.url_map.iter_rules()
        if "GET" in rule.methods
        and rule.endpoint not in NOT_PAGES
        and not rule.endpoint.startswith("api.")
    }


def role_of(endpoint: str) -> Role | None:
    if endpoint in ROLE_OF_ENDPOINT:
        return ROLE_OF_ENDPOINT[endpoint]
    return ROLE_OF[endpoint.split(".")[0]]


@pytest.fixture(scope="module")
def world(app):
    """Records each role's pages show, made once; returns the accounts and the path values."""
    today = date.today()  # noqa: DTZ011
    with app.app_context():
        session = db.session
        ey = factories.programme(session, "ey-senco-l3")
        npq = factories.programme(session, "npq-senco")
        provider = factories.create_provider(
            session, name="Northumberland and Tyne Valley Early Years Training Partnership"
        )
        nursery = factories.create_setting(
            session,
            la_code="202",
            urn="EY610001",
            name="St Mary Magdalene's Church of England Nursery and Children's Centre",
        )
        school = factories.create_setting(
            session, la_code="202", urn="610002", kind=SettingKind.SCHOOL, name="Camden Primary"
        )
        cohort = factories.create_cohort(
            session,
            prog=ey,
            provider=provider,
            places=4,
            name="Spring 2026 North West and North East (online, with mentoring)",
            starts_on=today + timedelta(days=45),
        )
        started = factories.create_cohort(
            session,
            prog=ey,
            provider=provider,
            places=10,
            name="Winter 2025",
            starts_on=today - timedelta(days=20),
        )
        full = factories.create_cohort(
            session, prog=ey, provider=provider, places=1, name="Full Autumn 2026"
        )
        npq_cohort = factories.create_cohort(session, prog=npq, provider=provider, name="NPQ 2026")
        owls = factories.create_setting(session, la_code="202", name="Little Owls Pre-School")
        kentish = factories.create_setting(session, la_code="202", name="Kentish Town Nursery")

        def claim(cohort, name, setting):
            email = name.lower().replace(" ", ".") + "@reflow.example"
            return places.claim_place(
                session, cohort, full_name=name, email=email, setting=setting
            ).claim

        # The setting's own: one funded with a long email address, one funded, one waiting.
        claims = [
            places.claim_place(
                session,
                cohort,
                full_name="Oluwaseun Adebayo-Richardson",
                email=LONG_EMAIL,
                setting=nursery,
            ).claim,
            claim(cohort, "Ann Smith", nursery),
        ]
        claim(full, "Dee Green", kentish)
        waiting = claim(full, "Eve White", nursery)
        deferred = claim(cohort, "Bea Jones", owls)
        places.defer(session, deferred, reason="On leave until spring")
        places.withdraw(
            session, claim(cohort, "Cal Brown", owls), reason="Moved to another authority"
        )
        training = claim(started, "Fay Black", kentish)
        record_declaration(session, training, milestone_code="started", declared_on=today)
        # As long as the dashboards get: more providers on a programme than fit on a screen,
        # claims from settings in more local authorities than a page of them shows.
        areas = session.scalars(
            sa.select(LocalAuthority.la_code).order_by(LocalAuthority.la_code).limit(30)
        ).all()
        for n, la_code in enumerate(areas):
            busy = factories.create_cohort(session, prog=ey, places=2, name=f"Busy {n}")
            claim(busy, f"Person {n}", factories.create_setting(session, la_code=la_code))
        # The same person, named otherwise by a school for another programme: a conflict.
        places.claim_place(
            session,
            npq_cohort,
            full_name="Ann Smyth",
            email="ann.smith@reflow.example",
            setting=school,
        )
        conflict = session.scalar(sa.select(ParticipantConflict).order_by(ParticipantConflict.id))
        london = session.scalar(sa.select(Region).where(Region.name == "London"))
        quota = RegionQuota(programme=ey, name="London and the South East", places=900)
        quota.regions = [london]
        session.add(quota)
        participant = claims[0].participant
        recipient = Recipient(
            participant.email, participant.full_name, "participant", participant.id
        )
        values = {"programme": ey.name, "cohort": cohort.name, "provider": provider.name}
        queue(
            session,
            [
                Due(
                    DEFAULT_RULES[NO_PROGRESS],
                    recipient,
                    f"claim:{claims[0].id}",
                    "2026-11",
                    values,
                )
            ],
        )
        users = {
            Role.DFE: create_account(session, role=Role.DFE, full_name="Dee Eff", email=LONG_EMAIL),
            Role.PROVIDER: create_account(session, role=Role.PROVIDER, organisation=provider.ukprn),
            Role.SETTING: create_account(session, role=Role.SETTING, organisation=nursery.urn),
            Role.LOCAL_AUTHORITY: create_account(
                session, role=Role.LOCAL_AUTHORITY, organisation="202"
            ),
        }
        invited = create_account(
            session, role=Role.SETTING, organisation=nursery.urn, password=None
        )
        for email in (LONG_EMAIL, "not an email address"):
            sign_in_with_password(
                session,
                email=email,
                password="a wrong guess",
                address="2001:db8:85a3:8d3:1319:8a2e:370:7348",
                user_agent=LONG_USER_AGENT,
            )
        session.commit()
        values = {
            "user_id": invited.id,
            "cohort_id": cohort.id,
            "conflict_id": conflict.id,
            "code": ey.code,
            "programme_code": ey.code,
            "quota_id": quota.id,
            "la_code": "202",
            "claim_id": claims[1].id,
            "token": None,
        }
        world = {
            "emails": {role: user.email for role, user in users.items()},
            "values": values,
            # Pages that need a record of their own kind.
            "special": {
                "reminders.change": {"programme_code": ey.code, "code": NO_PROGRESS},
                "provider.resume": {"claim_id": deferred.id},
                "setting.claim_place": {"cohort_id": full.id},
                "setting.claim": {"claim_id": waiting.id},
                "auth.set_password_page": {
                    "token": set_password_token(invited, secret_key=app.secret_key)
                },
                "reminder_links.stop": {"token": make_unsubscribe_token(participant.id)},
            },
            # Pages a role's main links lead to beyond one per route.
            "more": {
                Role.DFE: [
                    f"/dashboard?programme={code}"
                    for code in ("ey-senco-l3", "npq-senco", "ep-doctorate")
                ],
                Role.PROVIDER: [f"/provider/cohorts/{c.id}" for c in (started, full)]
                + [f"/provider/claims/{training.id}"],
                Role.SETTING: ["/"],
                Role.LOCAL_AUTHORITY: ["/"],
                None: ["/not-a-page"],
            },
        }
        db.session.remove()
    return world


def crawl_plan(app, world) -> dict[Role | None, list[str]]:
    """Every HTML page, as a URL for the role that reads it."""
    plan: dict[Role | None, list[str]] = {role: [] for role in (*Role, None)}
    with app.test_request_context():
        from flask import url_for

        for endpoint, _rule in sorted(html_endpoints(app).items(), key=lambda item: item[1]):
            arguments = next(r.arguments for r in app.url_map.iter_rules(endpoint))
            special = world["special"].get(endpoint, {})
            values = {name: special.get(name, world["values"].get(name)) for name in arguments}
            plan[role_of(endpoint)].append(url_for(endpoint, **values))
    for role, urls in world["more"].items():
        plan[role] += urls
    return {role: urls for role, urls in plan.items() if urls}


def test_the_crawl_visits_every_page_route(app, world):
    """Each GET route answering with HTML is in the crawl, for the role that uses it."""
    planned = {url.split("?")[0] for urls in crawl_plan(app, world).values() for url in urls}
    adapter = app.url_map.bind("localhost")
    reached = {adapter.match(url)[0] for url in planned if url != "/not-a-page"}
    assert reached == set(html_endpoints(app))
    assert len(planned) >= 60


def _signed_in_page(browser, base_url, world, role, checker_scripts):
    """A tab of a context of its own, signed in as ``role`` (None: signed out), with axe-core
    and HTML_CodeSniffer put in each page as it loads (as assert_accessible would, but without
    a round trip)."""
    context = browser.new_context(base_url=base_url)
    context.add_init_script(checker_scripts)
    page = context.new_page()
    page.set_default_timeout(10_000)
    if role is not None:
        limiter.reset()
        sign_in(page, world["emails"][role], PASSWORD)
        assert "/sign-in" not in page.url, f"{role} could not sign in"
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.on("console", lambda msg: page.errors.append(msg.text) if msg.type == "error" else None)
    return context, page


@pytest.fixture(scope="module")
def tab(browser, base_url, world, checker_scripts):
    """tab(role): the one tab of ``role`` for this module, signed in once; with a CDP session
    to lay it out at another size."""
    tabs = {}

    def tab(role):
        if role not in tabs:
            context, page = _signed_in_page(browser, base_url, world, role, checker_scripts)
            tabs[role] = (page, context.new_cdp_session(page))
        return tabs[role]

    yield tab
    for page, _cdp in tabs.values():
        page.context.close()


def _emulate(cdp, width: int, height: int, scale: int) -> None:
    """Lay the page out again in a window of this many CSS px, with this many device pixels to
    each: how Playwright's own viewport and device_scale_factor are set, without reloading."""
    cdp.send(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": scale, "mobile": False},
    )


UNLABELLED_TABLES = """[...document.querySelectorAll('main table')].filter(table => {
    const box = table.parentElement;
    const name = box.matches('.app-table-container[role=region][tabindex="0"]')
        && document.getElementById(box.getAttribute('aria-labelledby'));
    return !(name && table.contains(name) && name.textContent.trim());
}).map(table => table.outerHTML.slice(0, 80))"""
SCROLL_WIDTH = "[document.documentElement.scrollWidth, window.innerWidth]"


def _too_wide(page) -> str | None:
    """What makes the page wider than the window, or None if it fits."""
    wide, window = page.evaluate(SCROLL_WIDTH)
    if wide <= window:
        return None
    culprits = page.evaluate(
        """window => [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > window + 1
                && ![...e.children].some(c => c.getBoundingClientRect().right > window + 1))
            .slice(0, 3)
            .map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : '')
                + ' ' + (e.textContent || '').trim().slice(0, 40))""",
        window,
    )
    return f"{wide} px wide in a {window} px window: {culprits}"


@pytest.mark.parametrize(
    "role",
    [None, Role.DFE, Role.PROVIDER, Role.SETTING, Role.LOCAL_AUTHORITY],
    ids=["signed-out", "dfe", "provider", "setting", "local-authority"],
)
def test_every_page_reflows_at_320_px_at_200_percent_zoom_and_at_1280_px(
    app, world, tab, assert_accessible, role
):
    urls = crawl_plan(app, world)[role]
    page, cdp = tab(role)
    failures = []
    try:
        for url in urls:
            _emulate(cdp, **NARROW)
            page.errors.clear()
            response = page.goto(url)
            expected = 404 if url == "/not-a-page" else 200
            if response.status != expected:
                failures.append(f"{url}: status {response.status}")
                continue
            if (why := _too_wide(page)) is not None:
                failures.append(f"{url} at 320 px scrolls sideways: {why}")
            if tables := page.evaluate(UNLABELLED_TABLES):
                failures.append(f"{url}: tables not in a region named by their caption: {tables}")
            if expected == 404:  # the browser reports the status as an error
                page.errors = [e for e in page.errors if "404 (NOT FOUND)" not in e]
            try:
                assert_accessible(page)
            except AssertionError as failed:
                failures.append(str(failed))
            _emulate(cdp, **ZOOMED)
            if (why := _too_wide(page)) is not None:
                failures.append(f"{url} at 200% zoom scrolls sideways: {why}")
            _emulate(cdp, **DESKTOP)
            if (why := _too_wide(page)) is not None:
                failures.append(f"{url} at 1280 px scrolls sideways: {why}")
            if url.startswith("/dashboard"):
                failures.extend(_briefs_from_one_screen(page, url))
    finally:
        _emulate(cdp, **NARROW)
    assert not failures, f"{len(failures)} failures on {len(urls)} pages:\n" + "\n".join(failures)


HEADLINES = """[...document.querySelectorAll('[data-headline]')].map(headline =>
    [headline.dataset.headline, headline.getBoundingClientRect().bottom + window.scrollY])"""


def _briefs_from_one_screen(page, url: str) -> list[str]:
    """What keeps a dashboard page, at 1280 px wide, from briefing from its first screen."""
    failures = []
    tall = page.evaluate("document.documentElement.scrollHeight")
    if tall > LONGEST_DASHBOARD:
        failures.append(f"{url} is {tall:,} px long at 1280 px wide: over {LONGEST_DASHBOARD:,}")
    headlines = page.evaluate(HEADLINES)
    if url == "/dashboard" and len(headlines) != PROGRAMMES:
        failures.append(f"{url} has {len(headlines)} programmes' headlines, not {PROGRAMMES}")
    failures.extend(
        f"{url}: the headline of {code} ends {bottom:.0f} px down, below the first screen"
        for code, bottom in headlines
        if bottom > FIRST_SCREEN
    )
    return failures


FOCUSED = """() => {
    const e = document.activeElement;
    return [e.tagName.toLowerCase(), e.id, e.type || ''];
}"""


def _error_links_land_on_inputs(page) -> list[str]:
    """Follow each link of the error summary, by keyboard and by pointer; what went wrong."""
    links = page.locator(".govuk-error-summary__list a")
    count = links.count()
    if not count:
        return [f"{page.url}: no error summary links"]
    failures = []
    for index in range(count):
        link = links.nth(index)
        target = link.get_attribute("href").split("#", 1)[1]
        for how in ("Enter", "click"):
            if how == "Enter":
                link.focus()
                page.keyboard.press("Enter")
            else:
                link.click()
            tag, focused, kind = page.evaluate(FOCUSED)
            if tag not in ("input", "select", "textarea") or kind == "hidden" or focused != target:
                failures.append(
                    f"{page.url}: {how} on {link.inner_text()!r} focused <{tag} id={focused!r}>,"
                    f" not the input #{target}"
                )
    return failures


def _fill_date(page, legend: str, day: str, month: str, year: str) -> None:
    group = page.locator("main").get_by_role("group", name=legend).first
    group.get_by_label("Day").fill(day)
    group.get_by_label("Month").fill(month)
    group.get_by_label("Year").fill(year)


def test_each_error_summary_link_moves_focus_to_its_input(tab, assert_accessible):
    """At 320 px, as the crawl leaves each tab."""
    failures = []

    def check(role, open_form):
        page, _cdp = tab(role)
        page.errors.clear()
        open_form(page)
        expect(page.locator(".govuk-error-summary")).to_be_focused()
        assert_accessible(page)
        failures.extend(_error_links_land_on_inputs(page))

    def dfe_target(page):
        page.goto("/dfe/programmes/ey-senco-l3/target")
        page.get_by_label("Places", exact=True).fill("")
        _fill_date(page, "Date the target takes effect", "31", "2", "2025")
        page.get_by_role("button", name="Save target").click()

    def provider_cohort(page):
        page.goto("/provider/cohorts/new")
        page.get_by_label("Cohort name").fill("Keyboard Spring")
        _fill_date(page, "Start date", "31", "2", "2027")
        _fill_date(page, "End date", "1", "", "2027")
        page.get_by_role("button", name="Save cohort").click()

    def setting_finder(page):
        page.goto("/setting/cohorts")
        _fill_date(page, "Starting on or after", "40", "13", "2026")
        page.get_by_role("button", name="Search").click()

    def dashboard_filter(page):
        page.goto("/dashboard?programme=ey-senco-l3")
        page.get_by_text("Count only the claims made between two dates").first.click()
        _fill_date(page, "Claims made from", "31", "2", "2025")
        _fill_date(page, "Claims made up to", "1", "", "")
        page.get_by_role("button", name="Apply dates").first.click()

    check(Role.DFE, dfe_target)
    check(Role.PROVIDER, provider_cohort)
    check(Role.SETTING, setting_finder)
    check(Role.DFE, dashboard_filter)
    assert not failures, "\n".join(failures)
