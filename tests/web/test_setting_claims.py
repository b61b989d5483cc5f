"""Settings find open cohorts, claim funded places for named staff, follow and withdraw them.

A setting sees only its own staff and claims: another setting's claim is not found.
"""

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from tests import factories
from tests.browser import banner, error_summary, heading, page, submit, text
from tests.web.records import claim, field_error, signed_in, summary, table_rows
from tracker import places
from tracker.models import Claim, ClaimStatus, CohortStatus, RegionQuota, Role, SettingKind
from tracker.progress import record_declaration


@pytest.fixture
def setting(session):
    return factories.create_setting(session, name="Little Acorns", urn="EY100001")


@pytest.fixture
def setting_client(client, session, setting):
    signed_in(client, session, Role.SETTING, organisation=setting.urn)
    return client


def cohort_rows(response) -> dict[str, list[str]]:
    return {row[0]: row for row in table_rows(response, "[data-cohorts]")}


def test_a_setting_finds_open_cohorts_with_the_places_left(setting_client, session, setting):
    ey = factories.programme(session)
    factories.set_programme_places(session, ey, 1000)
    provider = factories.create_provider(session, name="Alpha")
    roomy = factories.create_cohort(session, prog=ey, provider=provider, places=10, name="Roomy")
    factories.create_cohort(
        session,
        prog=ey,
        provider=factories.create_provider(session),
        places=3,
        allocation=1,
        name="Tight",
    )
    factories.create_cohort(session, prog=ey, name="Closed", status=CohortStatus.CLOSED)
    factories.create_cohort(session, prog=factories.programme(session, "npq-senco"), name="NPQ")
    other = factories.create_setting(session)
    claim(session, roomy, other, "Ann One")
    claim(session, roomy, other, "Ben Two")

    response = setting_client.get("/setting/cohorts")

    rows = cohort_rows(response)
    # Closed cohorts, and programmes a group-based setting's staff may not take, are not shown.
    assert set(rows) == {"Roomy", "Tight"}
    assert rows["Roomy"][4] == "8"
    assert rows["Tight"][4] == "1"  # the provider's allocation is the smallest cap


def test_places_left_are_counted_in_a_fixed_number_of_queries(setting_client, session):
    ey = factories.programme(session)
    engine = session.get_bind()

    def queries_to_list(count: int) -> int:
        for _n in range(count):
            cohort = factories.create_cohort(session, prog=ey)
            claim(session, cohort, factories.create_setting(session), f"Person {cohort.id}")
        statements = []

        def note(*args):
            statements.append(args)

        sa.event.listen(engine, "before_cursor_execute", note)
        try:
            response = setting_client.get("/setting/cohorts")
        finally:
            sa.event.remove(engine, "before_cursor_execute", note)
        assert response.status_code == 200
        return len(statements)

    assert queries_to_list(2) == queries_to_list(13)


def test_cohorts_are_found_by_programme_area_and_start_date(setting_client, session):
    ey = factories.programme(session)
    soon = date.today() + timedelta(days=10)  # noqa: DTZ011
    later = date.today() + timedelta(days=200)  # noqa: DTZ011
    north = factories.create_cohort(session, prog=ey, starts_on=soon, name="Soon")
    factories.create_cohort(session, prog=ey, starts_on=later, name="Later")
    # A setting in Newcastle upon Tyne (LA 391, North East) already trains in "Soon".
    claim(session, north, factories.create_setting(session, la_code="391"), "Nell North")
    session.commit()
    newcastle = factories.local_authority(session, "391")

    assert set(cohort_rows(setting_client.get("/setting/cohorts?programme=ey-senco-l3"))) == {
        "Soon",
        "Later",
    }
    assert set(cohort_rows(setting_client.get("/setting/cohorts?area=la-391"))) == {"Soon"}
    assert set(
        cohort_rows(setting_client.get(f"/setting/cohorts?area=region-{newcastle.region_id}"))
    ) == {"Soon"}
    starts = f"starts_from={later.day}&starts_from={later.month}&starts_from={later.year}"
    assert set(cohort_rows(setting_client.get(f"/setting/cohorts?{starts}"))) == {"Later"}


@pytest.mark.parametrize(
    "query",
    [
        "area=la-999",
        "area=region-abc",
        "programme=npq-senco",  # not open to a group-based setting's staff
        "starts_from=30&starts_from=2&starts_from=2026",
        "starts_from=1&starts_from=1&starts_from=999999999999999999999",
        "page=99999999999999999999",
    ],
)
def test_odd_searches_are_errors_not_crashes(setting_client, session, query):
    factories.create_cohort(session, name="Any")
    session.commit()
    response = setting_client.get(f"/setting/cohorts?{query}")
    if query.startswith("page="):
        assert response.status_code == 404
    else:
        assert response.status_code == 200
        assert error_summary(response)


def test_a_setting_claims_a_funded_place(setting_client, session, setting):
    cohort = factories.create_cohort(session, name="Spring")
    session.commit()

    url = f"/setting/cohorts/{cohort.id}/claim"
    response = submit(
        setting_client, url, {"full_name": " Sam  Staff ", "email": "Sam@Acorns.example", "trn": ""}
    )

    assert response.status_code == 302
    shown = setting_client.get(response.headers["Location"])
    assert banner(shown) == "Sam Staff has a funded place"
    assert heading(shown) == "Sam Staff"
    assert summary(shown)["Status"] == "Funded"
    made = session.scalars(sa.select(Claim)).one()
    assert made.setting_id == setting.id
    assert made.status == ClaimStatus.FUNDED


def test_a_claim_that_must_wait_says_where_it_is_and_why(setting_client, session, setting):
    cohort = factories.create_cohort(session, places=1, name="Full")
    claim(session, cohort, factories.create_setting(session), "First Person")

    response = submit(
        setting_client,
        f"/setting/cohorts/{cohort.id}/claim",
        {"full_name": "Sam Staff", "email": "sam@acorns.example", "trn": "1234567"},
    )

    shown = setting_client.get(response.headers["Location"])
    assert banner(shown) == "Sam Staff is number 1 on the waiting list. The cohort is full."
    rows = summary(shown)
    assert rows["Status"] == "Waiting"
    assert rows["Waiting list"] == "Number 1"
    assert rows["Why it is waiting"] == "The cohort is full"
    assert rows["TRN"] == "1234567"


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"full_name": "", "email": "a@b.example"},
            "full_name",
            "Enter the participant's full name",
        ),
        (
            {"full_name": "A B", "email": "not an email"},
            "email",
            "Enter an email address in the correct format, like name@example.com",
        ),
        (
            {"full_name": "A B", "email": "a@b.example", "trn": "12"},
            "trn",
            "Enter a teacher reference number (TRN) of 7 digits",
        ),
        (
            {"full_name": "A" * 300, "email": "a@b.example"},
            "full_name",
            "The full name must be 200 characters or fewer",
        ),
        (
            {"full_name": "Nul\x00Byte", "email": "a@b.example"},
            "full_name",
            "The full name must not contain special characters",
        ),
        (
            {"full_name": "A B", "email": "a\x00@b.example"},
            "email",
            "Enter an email address in the correct format, like name@example.com",
        ),
        (
            {"full_name": "Already Here", "email": "here@example.com"},
            "email",
            # The claim in the way is another setting's: only that the person has a place.
            "here@example.com already has a place on Level 3 early years SENCo qualification:"
            " one person may hold one place on a programme",
        ),
    ],
)
def test_a_claim_that_breaks_a_rule_is_shown_again_with_its_error(
    setting_client, session, data, field, message
):
    cohort = factories.create_cohort(session)
    claim(session, cohort, factories.create_setting(session), "Already Here", "here@example.com")

    response = submit(setting_client, f"/setting/cohorts/{cohort.id}/claim", data)

    assert response.status_code == 200
    assert [m for m, _ in error_summary(response)] == [message]
    assert field_error(response, field) == message
    assert page(response).select_one("#full_name")["value"] == data["full_name"]
    assert page(response).select_one("#email")["value"] == data["email"]
    assert session.scalar(sa.select(sa.func.count()).select_from(Claim)) == 1


def test_a_closed_cohort_refuses_the_claim(setting_client, session):
    cohort = factories.create_cohort(session, name="Shut", status=CohortStatus.CLOSED)
    session.commit()
    response = submit(
        setting_client,
        f"/setting/cohorts/{cohort.id}/claim",
        {"full_name": "Sam Staff", "email": "sam@example.com"},
        form_url=f"/setting/cohorts/{cohort.id}/claim",
    )
    assert response.status_code == 200
    assert [m for m, _ in error_summary(response)] == ["Shut is not taking claims"]


def test_a_cohort_the_setting_cannot_claim_in_is_not_found(setting_client, session):
    npq = factories.create_cohort(session, prog=factories.programme(session, "npq-senco"))
    session.commit()
    assert setting_client.get(f"/setting/cohorts/{npq.id}/claim").status_code == 404
    assert setting_client.get("/setting/cohorts/987654/claim").status_code == 404
    assert setting_client.get(f"/setting/cohorts/{'9' * 25}/claim").status_code == 404


def test_the_claims_list_shows_status_progress_and_waiting_position(
    setting_client, session, setting
):
    cohort = factories.create_cohort(session, places=2, name="Spring")
    funded = claim(session, cohort, setting, "Ann One")
    claim(session, cohort, setting, "Ben Two")
    claim(session, cohort, setting, "Cat Three")  # the setting may hold 2 places at once
    session.commit()
    cohort.starts_on = date.today() - timedelta(days=5)  # noqa: DTZ011
    record_declaration(session, funded, milestone_code="started", declared_on=cohort.starts_on)
    session.commit()

    response = setting_client.get("/setting/claims")

    rows = {row[0].split(" ")[0]: row for row in table_rows(response, "[data-claims]")}
    assert rows["Ann"][2:] == ["In training", "1 of 4"]
    assert rows["Ben"][2:] == ["Funded", "0 of 4"]
    assert rows["Cat"][2:] == ["Waiting, number 1 on the waiting list", "0 of 4"]


def test_a_setting_sees_only_its_own_claims(setting_client, session, setting):
    cohort = factories.create_cohort(session)
    mine = claim(session, cohort, setting, "Mine Person")
    theirs = claim(session, cohort, factories.create_setting(session), "Their Person")

    listed = text(page(setting_client.get("/setting/claims")).select_one("[data-claims]"))
    assert "Mine Person" in listed and "Their Person" not in listed
    assert setting_client.get(f"/setting/claims/{mine.id}").status_code == 200
    assert setting_client.get(f"/setting/claims/{theirs.id}").status_code == 404
    assert setting_client.get(f"/setting/claims/{theirs.id}/withdraw").status_code == 404
    response = submit(
        setting_client,
        f"/setting/claims/{theirs.id}/withdraw",
        {"reason": "Not mine to withdraw"},
        form_url=f"/setting/claims/{mine.id}/withdraw",
    )
    assert response.status_code == 404
    session.refresh(theirs)
    assert theirs.status == ClaimStatus.FUNDED


def test_a_setting_withdraws_a_claim_after_confirming_with_a_reason(
    setting_client, session, setting
):
    cohort = factories.create_cohort(session, places=1)
    leaving = claim(session, cohort, setting, "Leah Leaving")
    waiting = claim(session, cohort, factories.create_setting(session), "Wes Waiting")
    url = f"/setting/claims/{leaving.id}/withdraw"

    confirm = setting_client.get(url)
    assert heading(confirm) == "Are you sure you want to withdraw the claim for Leah Leaving?"

    refused = submit(setting_client, url, {"reason": "   "})
    assert [m for m, _ in error_summary(refused)] == ["Enter the reason for the withdrawal"]

    response = submit(setting_client, url, {"reason": "Moved to another nursery"})
    shown = setting_client.get(response.headers["Location"])
    assert banner(shown) == "The claim for Leah Leaving has been withdrawn"
    assert summary(shown)["Status"] == "Withdrawn"
    assert summary(shown)["Reason for withdrawal"] == "Moved to another nursery"
    session.refresh(waiting)
    assert waiting.status == ClaimStatus.FUNDED  # the place went to the waiting claim
    # A withdrawn claim cannot be withdrawn again.
    again = setting_client.get(url)
    assert again.status_code == 302


@pytest.mark.parametrize("role", [Role.DFE, Role.PROVIDER, Role.LOCAL_AUTHORITY])
def test_only_settings_may_use_the_setting_pages(client, session, role):
    cohort = factories.create_cohort(session)
    made = claim(session, cohort, factories.create_setting(session))
    signed_in(client, session, role)
    for url in [
        "/setting/",
        "/setting/cohorts",
        f"/setting/cohorts/{cohort.id}/claim",
        "/setting/claims",
        f"/setting/claims/{made.id}",
        f"/setting/claims/{made.id}/withdraw",
    ]:
        assert client.get(url).status_code == 403, url


def test_a_school_is_told_no_programme_is_open_to_it(client, session):
    school = factories.create_setting(session, kind=SettingKind.CHILDMINDER)
    factories.create_cohort(session, prog=factories.programme(session, "npq-senco"))
    signed_in(client, session, Role.SETTING, organisation=school.urn)
    response = client.get("/setting/cohorts")
    assert response.status_code == 200
    assert page(response).select_one("[data-cohorts]") is None


def test_the_waiting_position_matches_the_ledger(setting_client, session, setting):
    cohort = factories.create_cohort(session, places=1)
    claim(session, cohort, factories.create_setting(session), "Ann One")
    second = claim(session, cohort, factories.create_setting(session), "Ben Two")
    third = claim(session, cohort, setting, "Cat Three")
    assert places.waiting_position(session, second) == 1
    assert places.waiting_position(session, third) == 2
    assert summary(setting_client.get(f"/setting/claims/{third.id}"))["Waiting list"] == "Number 2"
    row = table_rows(setting_client.get("/setting/claims"), "[data-claims]")[0]
    assert row[2] == "Waiting, number 2 on the waiting list"


def test_a_setting_at_its_limit_is_told_before_and_after_it_claims(
    setting_client, session, setting
):
    # A setting may hold 2 funded places at once on the early years programme.
    cohort = factories.create_cohort(session, places=10, name="Roomy")
    claim(session, cohort, setting, "Ann One")
    claim(session, cohort, setting, "Ben Two")

    found = setting_client.get("/setting/cohorts")
    assert cohort_rows(found)["Roomy"][4] == "8"
    assert text(page(found).select_one('[data-setting-limit="ey-senco-l3"]')) == (
        "Your setting already holds the 2 funded places it may hold at once on"
        " Level 3 early years SENCo qualification. A new claim will wait until one of them ends."
    )
    form = setting_client.get(f"/setting/cohorts/{cohort.id}/claim")
    assert page(form).select_one("[data-setting-limit]") is not None
    response = submit(
        setting_client,
        f"/setting/cohorts/{cohort.id}/claim",
        {"full_name": "Cat Three", "email": "cat@example.com"},
    )
    shown = setting_client.get(response.headers["Location"])
    # Not a misleading "number 1": it waits for its own setting, whoever else is funded.
    assert banner(shown) == (
        "Cat Three is waiting: your setting holds as many funded places on Level 3 early"
        " years SENCo qualification as it may (2). The claim is funded when one of them ends."
    )
    assert "Waiting list" not in summary(shown)
    assert summary(shown)["Why it is waiting"] == (
        "The setting holds as many funded places as it may: it is funded when one of your"
        " setting's places on this programme ends"
    )


def _waiting_reasons(response) -> dict[str, str | None]:
    """Each cohort row's name, and what it says of the waiting list (None: nothing)."""
    return {
        text(row.select_one("th")): text(row.select_one("[data-waiting-reason]")) or None
        for row in page(response).select("[data-cohorts] tbody tr")
    }


def test_cohorts_with_places_come_first_and_each_full_one_says_which_cap_is_full(
    setting_client, session, setting
):
    ey = factories.programme(session)
    factories.set_programme_places(session, ey, 1000)
    soon = date.today() + timedelta(days=10)  # noqa: DTZ011
    other = factories.create_setting(session)

    def cohort(name, days, **kw):
        return factories.create_cohort(
            session, prog=ey, name=name, starts_on=soon + timedelta(days=days), **kw
        )

    full = cohort("Full", 0, places=1)
    claim(session, full, other, "Ann One")
    tight = factories.create_provider(session, name="Tight Training")
    claim(session, cohort("Allocation spent", 1, provider=tight, allocation=1), other, "Ben Two")
    cohort("Same provider", 2, provider=tight)
    cohort("Roomy", 3, places=10)
    cohort("Roomy later", 30, places=10)

    response = setting_client.get("/setting/cohorts")

    assert list(_waiting_reasons(response).items()) == [
        ("Roomy", None),
        ("Roomy later", None),
        ("Full", "A claim would join the waiting list. The cohort is full."),
        (
            "Allocation spent",
            "A claim would join the waiting list. The provider's allocation is used up.",
        ),
        (
            "Same provider",
            "A claim would join the waiting list. The provider's allocation is used up.",
        ),
    ]
    assert cohort_rows(response)["Full"][4] == "0"


@pytest.mark.parametrize(
    ("cap", "reason"),
    [
        ("programme", "The programme's funded places are all taken"),
        ("region-quota", "The places for this region are all taken"),
        ("setting", "The setting holds as many funded places as it may"),
    ],
)
def test_a_cohort_full_at_the_programme_region_or_setting_says_so_in_the_ledgers_words(
    setting_client, session, setting, cap, reason
):
    ey = factories.programme(session)
    roomy = factories.create_cohort(session, prog=ey, places=10, name="Roomy")
    if cap == "programme":
        factories.set_programme_places(session, ey, 1)
        claim(session, roomy, factories.create_setting(session), "Ann One")
    elif cap == "region-quota":
        region = factories.local_authority(session, setting.local_authority.la_code).region
        session.add(RegionQuota(programme=ey, name="Home region", places=1, regions=[region]))
        claim(session, roomy, factories.create_setting(session), "Ann One")
    else:
        claim(session, roomy, setting, "Ann One")
        claim(session, roomy, setting, "Ben Two")
    session.commit()

    found = setting_client.get("/setting/cohorts")
    form = setting_client.get(f"/setting/cohorts/{roomy.id}/claim")

    assert _waiting_reasons(found) == {"Roomy": f"A claim would join the waiting list. {reason}."}
    said = page(form).select_one("[data-waiting-reason], [data-setting-limit]")
    assert said is not None
    if cap != "setting":
        assert f"now: {reason[0].lower()}{reason[1:]}." in text(said)
    # The ledger agrees: a claim made now waits for the same reason.
    response = submit(
        setting_client,
        f"/setting/cohorts/{roomy.id}/claim",
        {"full_name": "Cat Three", "email": "cat.three@example.com"},
    )
    shown = setting_client.get(response.headers["Location"])
    assert summary(shown)["Why it is waiting"].startswith(reason)


def test_the_claim_button_sits_with_the_places_the_setting_holds_and_may_hold(
    setting_client, session, setting
):
    cohort = factories.create_cohort(session, places=10, name="Roomy")
    claim(session, cohort, setting, "Ann One")
    claim(session, cohort, factories.create_setting(session), "Ben Two")  # not this setting's

    form = page(setting_client.get(f"/setting/cohorts/{cohort.id}/claim"))

    held = form.select_one("main form [data-setting-places]")
    assert text(held) == "Your setting holds 1 of its 2 places on this programme."
    assert held.find_next_sibling().get("type") == "submit"
    assert text(form.select_one("p[data-places-left]")).startswith("8 funded places left.")
