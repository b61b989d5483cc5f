"""The main journey of each role in a real browser, with axe-core run on every page visited.

Each test makes its own records (names of its own: the database lives for the whole run) and
finds its way as a person would, by the service navigation, links, buttons and labels.
"""

import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from tests import factories
from tracker import places, publication
from tracker.models import PublishedSnapshot, Role, SettingKind

pytestmark = pytest.mark.slow  # processes, servers or a browser: `-m "not slow"` skips it

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips, or fails under REQUIRE_BROWSER=1, saying why
    expect = None


def menu(page, name: str):
    """A link of the service navigation."""
    return page.get_by_role("navigation", name="Menu").get_by_role("link", name=name, exact=True)


def test_sign_in_page_and_its_error(page, account, assert_accessible):
    email = account(Role.DFE)
    page.goto("/sign-in")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Sign in")
    assert_accessible(page)

    page.get_by_label("Email address", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill("not the password")
    page.get_by_role("button", name="Sign in").click()

    expect(page).to_have_title(re.compile(r"^Error: "))
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("Enter a correct email address and password")
    expect(summary).to_be_focused()
    assert_accessible(page)


def test_public_uptake_page(page, records, assert_accessible):
    with records() as session:
        cohort = factories.create_cohort(session, name="Public Spring")
        for n in range(3):
            places.claim_place(
                session,
                cohort,
                full_name=f"Public Person {n}",
                email=f"public.{n}@example.com",
                setting=factories.create_setting(session, la_code="203"),
            )
        publication.publish(session, by="browser test")  # unless this week's are out
    page.goto("/public/uptake")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.locator("[data-suppression-rule]")).to_contain_text("rounded to the nearest 5")
    expect(page.get_by_role("table").first).to_be_visible()
    assert_accessible(page)


def test_dfe_publishes_the_public_figures_after_confirming(
    page, account, sign_in, records, assert_accessible
):
    with records() as session:
        session.execute(sa.delete(PublishedSnapshot))  # nothing published this week yet
    page.goto("/public/uptake")
    expect(page.locator("[data-not-published]")).to_be_visible()
    assert_accessible(page)

    sign_in(page, account(Role.DFE, full_name="Dee Publish"))
    page.get_by_role("link", name="Public uptake figures").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Public uptake figures")
    assert_accessible(page)
    page.get_by_role("button", name="Publish the figures now").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Are you sure")
    assert_accessible(page)
    page.get_by_role("button", name="Publish the figures").click()

    expect(page.locator(".govuk-notification-banner")).to_contain_text(
        "Published the public uptake figures for"
    )
    assert_accessible(page)
    page.goto("/public/uptake")
    expect(page.locator("[data-figures-on]")).to_be_visible()


def test_dfe_changes_a_target_and_sees_it_in_the_history(page, account, sign_in, assert_accessible):
    sign_in(page, account(Role.DFE, full_name="Dee Eff"))
    expect(page).to_have_url(re.compile(r"/dfe/$"))
    assert_accessible(page)

    page.get_by_role("link", name="Programmes and targets").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Programmes and targets")
    assert_accessible(page)

    page.get_by_role("link", name="Level 3 early years SENCo qualification", exact=True).click()
    assert_accessible(page)
    page.get_by_role("button", name="Change the target").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Change the target")
    assert_accessible(page)

    page.get_by_label("Places", exact=True).fill("7,000")
    effective_on = page.get_by_role("group", name="Date the target takes effect")
    effective_on.get_by_label("Day").fill("1")
    effective_on.get_by_label("Month").fill("4")
    effective_on.get_by_label("Year").fill("2024")
    page.get_by_role("button", name="Save target").click()
    # Without a note the form comes back with its error, the rest as typed.
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter a note")
    expect(page.get_by_label("Places", exact=True)).to_have_value("7,000")
    assert_accessible(page)

    page.get_by_label("Why the target changed").fill("Raised in the extension announcement")
    page.get_by_role("button", name="Save target").click()

    expect(page.locator(".govuk-notification-banner")).to_contain_text(
        "set to 7,000 places from 1 April 2024"
    )
    latest = page.locator("[data-target-history] tbody tr").first
    expect(latest).to_contain_text("7,000")
    expect(latest).to_contain_text("1 April 2024")
    expect(latest).to_contain_text("Dee Eff")
    expect(latest).to_contain_text("Raised in the extension announcement")
    assert_accessible(page)

    menu(page, "Cohorts").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Cohorts")
    assert_accessible(page)

    menu(page, "Audit trail").click()
    expect(page.locator("main")).to_contain_text("Raised in the extension announcement")
    assert_accessible(page)

    menu(page, "Dashboard").click()
    expect(page).to_have_url(re.compile(r"/dashboard$"))
    assert_accessible(page)

    menu(page, "Accounts").click()
    expect(page).to_have_url(re.compile(r"/admin/accounts$"))
    expect(page.locator("main")).to_contain_text("Dee Eff")
    assert_accessible(page)


def test_dfe_goes_from_the_dashboards_headlines_to_each_programmes_page(
    page, account, sign_in, assert_accessible
):
    """(How long each page is, and where the headlines end, at 1280 and 320 px wide: the
    crawl in test_reflow.py measures every dashboard page.)"""
    sign_in(page, account(Role.DFE))
    menu(page, "Dashboard").click()
    headlines = page.locator("[data-headline]")
    expect(headlines).to_have_count(3)
    assert_accessible(page)

    pages = page.get_by_role("navigation", name="Dashboard pages").get_by_role("link")
    expect(pages).to_have_count(4)
    names = [pages.nth(i).inner_text() for i in range(1, 4)]
    for name in names:
        page.get_by_role("navigation", name="Dashboard pages").get_by_role(
            "link", name=name, exact=True
        ).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(name)
        expect(page.locator("[data-headline]")).to_have_count(1)
    assert_accessible(page)


def test_a_provider_creates_a_cohort_and_enrols_a_participant(
    page, records, account, sign_in, assert_accessible
):
    with records() as session:
        provider = factories.create_provider(session, name="Browser Training")
        factories.create_allocation(
            session, provider=provider, prog=factories.programme(session), places=30
        )
        factories.create_setting(session, name="Oak Tree Nursery", urn="EY900001")
        ukprn = provider.ukprn
    starts = date.today() + timedelta(days=60)  # noqa: DTZ011
    ends = starts + timedelta(days=120)
    sign_in(page, account(Role.PROVIDER, organisation=ukprn))
    expect(page).to_have_url(re.compile(r"/provider/$"))
    assert_accessible(page)

    menu(page, "Cohorts").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Cohorts")
    assert_accessible(page)

    page.get_by_role("button", name="Create a cohort").click()
    assert_accessible(page)
    page.get_by_label("Level 3 early years SENCo qualification").check()
    page.get_by_label("Cohort name").fill("Browser Spring")
    for legend, day in (("Start date", starts), ("End date", ends)):
        group = page.get_by_role("group", name=legend)
        group.get_by_label("Day").fill(str(day.day))
        group.get_by_label("Month").fill(str(day.month))
        group.get_by_label("Year").fill(str(day.year))
    page.get_by_label("Places", exact=True).fill("20")
    page.get_by_role("button", name="Save cohort").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Browser Spring")
    assert_accessible(page)

    page.get_by_role("button", name="Enrol a participant", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Enrol a participant")
    assert_accessible(page)
    page.get_by_label("Full name").fill("Ann Smith")
    page.get_by_label("Email address").fill("ann.smith@example.com")
    page.get_by_label("Setting URN").fill("EY900001")
    page.get_by_role("button", name="Enrol participant").click()

    expect(page.locator(".govuk-panel")).to_contain_text("Ann Smith has a funded place")
    assert_accessible(page)

    page.get_by_role("link", name="Back to Browser Spring").click()
    row = page.locator("[data-roster] tbody tr", has_text="Ann Smith")
    expect(row).to_contain_text("Funded")
    expect(row).to_contain_text("Oak Tree Nursery")
    assert_accessible(page)

    page.get_by_role("button", name="Enrol participants from a CSV file").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Enrol participants from a CSV file")
    assert_accessible(page)


def test_a_setting_claims_a_place_and_sees_it_in_its_claims(
    page, records, account, sign_in, assert_accessible
):
    with records() as session:
        setting = factories.create_setting(session, name="Little Acorns", urn="EY700001")
        factories.create_cohort(
            session,
            provider=factories.create_provider(session, name="Sunrise Training"),
            name="Setting Spring",
        )
        urn = setting.urn
    sign_in(page, account(Role.SETTING, organisation=urn))
    expect(page).to_have_url(re.compile(r"/setting/$"))
    assert_accessible(page)

    menu(page, "Find a cohort").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Find a cohort")
    assert_accessible(page)

    page.get_by_role("link", name="Claim a place in Setting Spring").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Claim a funded place")
    assert_accessible(page)
    page.get_by_label("Full name").fill("Sam Staff")
    page.get_by_label("Email address").fill("sam.staff@acorns.example")
    page.get_by_role("button", name="Claim a place").click()

    expect(page.locator(".govuk-notification-banner")).to_contain_text(
        "Sam Staff has a funded place"
    )
    expect(page.get_by_role("heading", level=1)).to_have_text("Sam Staff")
    assert_accessible(page)

    page.get_by_role("link", name="Back to your claims").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your claims")
    row = page.locator("[data-claims] tbody tr", has_text="Sam Staff")
    expect(row).to_contain_text("Setting Spring")
    expect(row.locator("[data-status]")).to_contain_text("Funded")
    assert_accessible(page)

    # Withdrawing asks first, with a reason.
    row.get_by_role("link", name="Sam Staff").click()
    page.get_by_role("button", name="Withdraw this claim").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Are you sure")
    assert_accessible(page)
    page.get_by_label("Why is the claim being withdrawn?").fill("Moved to another nursery")
    page.get_by_role("button", name="Withdraw claim").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text(
        "The claim for Sam Staff has been withdrawn"
    )
    assert_accessible(page)


def test_a_local_authority_sees_its_area_and_its_dashboard(
    page, records, account, sign_in, assert_accessible
):
    with records() as session:
        # LA 202 is Camden.
        nursery = factories.create_setting(
            session, la_code="202", name="Camden Nursery", urn="EY800001"
        )
        factories.create_setting(
            session,
            la_code="202",
            name="Primrose Childminding",
            urn="EY800002",
            kind=SettingKind.CHILDMINDER,
        )
        cohort = factories.create_cohort(session, name="Camden Autumn")
        places.claim_place(
            session, cohort, full_name="Ann Camden", email="ann@camden.example", setting=nursery
        )
    sign_in(page, account(Role.LOCAL_AUTHORITY, organisation="202"))
    expect(page).to_have_url(re.compile(r"/local-authority/$"))
    assert_accessible(page)

    menu(page, "Settings").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Settings in your area")
    expect(page.locator("[data-setting=EY800001]")).to_contain_text("Camden Nursery")
    expect(page.locator("[data-setting=EY800002]")).to_contain_text("Primrose Childminding")
    expect(page.locator("[data-setting=EY800001] [data-live]")).to_have_text("1")
    assert_accessible(page)

    menu(page, "Claims").click()
    expect(page.locator("main")).to_contain_text("Ann Camden")
    assert_accessible(page)

    menu(page, "Dashboard").click()
    expect(page).to_have_url(re.compile(r"/dashboard/la/202"))
    expect(page.locator("main")).to_contain_text("Camden")
    assert_accessible(page)
