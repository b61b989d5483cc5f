"""A cohort's roster; enrolling one participant; declarations; withdrawal, deferral and moves."""

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from tests import factories
from tests.browser import banner, error_summary, heading, page, submit, text
from tests.web.provider_pages import enrol, sign_in_provider, started_cohort, table_rows
from tracker import progress
from tracker.models import Claim, ClaimStatus, Declaration, SettingKind
from tracker.places import london_today


def today() -> date:
    """Today in London, asked for when used (a run may cross midnight)."""
    return london_today()


@pytest.fixture
def provider(session):
    return factories.create_provider(session, name="Learning Trust")


def roster_names(response) -> list[str]:
    return [text(th.a) for th in page(response).select("[data-roster] [data-participant]")]


def test_the_roster_shows_status_setting_position_and_last_declaration(client, session, provider):
    cohort = started_cohort(session, provider, places=1, name="Spring")
    setting = factories.create_setting(session, name="Little Acorns", urn="EY100001")
    [funded] = enrol(session, cohort, 1, setting=setting, name="Ann")
    enrol(session, cohort, 2, name="Bob")
    progress.record_declaration(
        session, funded, milestone_code="started", declared_on=today() - timedelta(days=3)
    )
    session.commit()
    sign_in_provider(client, session, provider)

    response = client.get(f"/provider/cohorts/{cohort.id}")

    assert heading(response) == "Spring"
    rows = table_rows(response, "[data-roster]")
    assert [row[1:] for row in rows] == [
        [
            f"Ann 0 ann.0.{cohort.id}@example.com",
            "In training",
            "Little Acorns (EY100001)",
            "",
            f"Started, {(today() - timedelta(days=3)).day} {today() - timedelta(days=3):%B %Y}",
        ],
        [f"Bob 0 bob.0.{cohort.id}@example.com", "Waiting", rows[1][3], "1", "None"],
        [f"Bob 1 bob.1.{cohort.id}@example.com", "Waiting", rows[2][3], "2", "None"],
    ]
    summary = {
        text(r.select_one("dt")): text(r.select_one("dd"))
        for r in page(response).select("[data-cohort-summary] .govuk-summary-list__row")
    }
    assert (summary["Places"], summary["Funded"], summary["Waiting"]) == ("1", "1", "2")


def test_the_roster_filters_by_status_and_searches_name_email_and_trn(client, session, provider):
    cohort = started_cohort(session, provider, places=1)
    enrol(session, cohort, 1, name="Ann")
    enrol(session, cohort, 2, name="Bob")
    session.scalars(sa.select(Claim).where(Claim.cohort_id == cohort.id)).first()
    bob = session.scalars(
        sa.select(Claim).join(Claim.participant).where(Claim.status == ClaimStatus.WAITING)
    ).first()
    bob.trn = "1234567"
    session.commit()
    sign_in_provider(client, session, provider)
    url = f"/provider/cohorts/{cohort.id}"

    assert roster_names(client.get(url, query_string={"status": "waiting"})) == ["Bob 0", "Bob 1"]
    assert roster_names(client.get(url, query_string={"status": "funded"})) == ["Ann 0"]
    assert roster_names(client.get(url, query_string={"q": "ANN"})) == ["Ann 0"]
    assert roster_names(client.get(url, query_string={"q": "bob.1."})) == ["Bob 1"]
    assert roster_names(client.get(url, query_string={"q": "1234567"})) == [bob.full_name]
    nothing = client.get(url, query_string={"q": "%_\x00' OR 1=1", "status": "nonsense"})
    assert nothing.status_code == 200
    assert "No participants match your search." in text(page(nothing).select_one("main"))


def test_the_roster_shows_50_participants_a_page(client, session, provider):
    prog = factories.programme(session, "npq-senco")
    cohort = started_cohort(session, provider, prog=prog, places=60)
    school = factories.create_setting(session, kind=SettingKind.SCHOOL, urn="100001")
    enrol(session, cohort, 55, setting=school, name="P")
    sign_in_provider(client, session, provider)
    url = f"/provider/cohorts/{cohort.id}"

    first = client.get(url, query_string={"status": "funded"})
    assert len(roster_names(first)) == 50
    assert text(page(first).select_one("[data-roster] caption")) == "55 participants, page 1 of 2"
    next_link = page(first).select_one(".govuk-pagination__next a")["href"]
    assert "status=funded" in next_link and "page=2" in next_link
    assert len(roster_names(client.get(next_link))) == 5
    for odd in ["0", "-1", "abc", "99999999999999999999999"]:
        assert client.get(url, query_string={"page": odd}).status_code == 200, odd


def test_a_provider_enrols_one_participant_with_a_funded_place(client, session, provider):
    cohort = factories.create_cohort(session, provider=provider, places=1)
    setting = factories.create_setting(session, urn="EY541824")
    session.commit()
    sign_in_provider(client, session, provider)

    response = submit(
        client,
        f"/provider/cohorts/{cohort.id}/enrol",
        {"full_name": "Ann Smith", "email": "Ann@Example.com", "trn": "", "setting": "ey541824"},
    )

    assert response.status_code == 302
    shown = client.get(response.headers["Location"])
    assert page(shown).select_one("[data-outcome]")["data-outcome"] == "funded"
    assert text(page(shown).select_one(".govuk-panel")) == (
        "Participant enrolled Ann Smith has a funded place"
    )
    claim = session.scalars(sa.select(Claim)).one()
    assert (claim.participant.email, claim.setting_id) == ("ann@example.com", setting.id)


def test_an_enrolment_past_the_places_waits_and_shows_its_position(client, session, provider):
    cohort = factories.create_cohort(session, provider=provider, places=1)
    enrol(session, cohort, 2)
    factories.create_setting(session, urn="EY541824")
    session.commit()
    sign_in_provider(client, session, provider)

    response = submit(
        client,
        f"/provider/cohorts/{cohort.id}/enrol",
        {"full_name": "Cat", "email": "cat@example.com", "setting": "EY541824"},
    )

    shown = client.get(response.headers["Location"])
    assert text(page(shown).select_one(".govuk-panel")) == (
        "Participant on the waiting list Cat is number 2 on the waiting list"
    )
    rows = {
        text(r.select_one("dt")): text(r.select_one("dd"))
        for r in page(shown).select("[data-claim-summary] .govuk-summary-list__row")
    }
    assert rows["Waiting position"] == "2 (The cohort is full)"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {"full_name": "", "email": "a@example.com", "setting": "EY541824"},
            ("Enter the participant's full name", "#full_name"),
        ),
        (
            {"full_name": "A", "email": "not an email", "setting": "EY541824"},
            ("Enter an email address in the correct format, like name@example.com", "#email"),
        ),
        (
            {"full_name": "A", "email": "a@example.com", "trn": "12", "setting": "EY541824"},
            ("Enter a teacher reference number (TRN) of 7 digits", "#trn"),
        ),
        (
            {"full_name": "A", "email": "a@example.com", "setting": ""},
            ("Enter the URN of the setting the participant works at", "#setting"),
        ),
        (
            {"full_name": "A", "email": "a@example.com", "setting": "EY999999"},
            ("No setting has URN EY999999: check the URN", "#setting"),
        ),
        ({"full_name": "A\x00", "email": "a\x00@example.com", "setting": "EY541824\x00"}, None),
        (
            {"full_name": "A" * 300, "email": "a@example.com", "setting": "EY541824"},
            ("The full name must be 200 characters or fewer", "#full_name"),
        ),
    ],
)
def test_enrolment_errors_show_on_their_field(client, session, provider, data, expected):
    cohort = factories.create_cohort(session, provider=provider)
    factories.create_setting(session, urn="EY541824")
    session.commit()
    sign_in_provider(client, session, provider)
    response = submit(client, f"/provider/cohorts/{cohort.id}/enrol", data)
    if expected is None:
        assert response.status_code == 302
    else:
        assert error_summary(response) == [expected]
        assert page(response).select_one("#full_name")["value"] == data["full_name"]


def test_someone_enrolled_already_is_refused(client, session, provider):
    cohort = factories.create_cohort(session, provider=provider)
    [claim] = enrol(session, cohort)
    setting = factories.create_setting(session)
    session.commit()
    sign_in_provider(client, session, provider)
    response = submit(
        client,
        f"/provider/cohorts/{cohort.id}/enrol",
        {"full_name": "Again", "email": claim.participant.email, "setting": setting.urn},
    )
    assert error_summary(response) == [
        (
            f"{claim.participant.email} already has a funded claim on"
            " Level 3 early years SENCo qualification",
            "#email",
        )
    ]


def test_ep_enrolment_names_a_local_authority(client, session, provider):
    cohort = factories.create_cohort(
        session, provider=provider, prog=factories.programme(session, "ep-doctorate")
    )
    session.commit()
    sign_in_provider(client, session, provider)
    url = f"/provider/cohorts/{cohort.id}/enrol"
    form = page(client.get(url))
    assert form.select_one("#local_authority") is not None and form.select_one("#setting") is None

    missing = submit(client, url, {"full_name": "Eve", "email": "eve@example.com"})
    assert error_summary(missing) == [
        (
            "Enter the 3-digit code of the local authority the trainee is placed in",
            "#local_authority",
        )
    ]
    done = submit(
        client, url, {"full_name": "Eve", "email": "eve@example.com", "local_authority": "201"}
    )
    assert done.status_code == 302
    assert session.scalars(sa.select(Claim)).one().local_authority.la_code == "201"


def test_a_provider_records_a_declaration_from_the_participants_page(client, session, provider):
    cohort = started_cohort(session, provider)
    [claim] = enrol(session, cohort)
    sign_in_provider(client, session, provider)
    url = f"/provider/claims/{claim.id}/declare"
    day = today() - timedelta(days=1)

    too_early = submit(
        client,
        url,
        {"milestone": "mid-point", "declared_on": [str(day.day), str(day.month), str(day.year)]},
    )
    assert error_summary(too_early) == [
        ("Started must be declared before Mid-point review", "#milestone")
    ]
    future = today() + timedelta(days=2)
    refused = submit(
        client,
        url,
        {
            "milestone": "started",
            "declared_on": [str(future.day), str(future.month), str(future.year)],
        },
    )
    assert error_summary(refused) == [
        ("The date of a declaration cannot be in the future", "#declared_on-day")
    ]
    assert [i["value"] for i in page(refused).select("[name=declared_on]")] == [
        str(future.day),
        str(future.month),
        str(future.year),
    ]

    done = submit(
        client,
        url,
        {"milestone": "started", "declared_on": [str(day.day), str(day.month), str(day.year)]},
    )
    assert done.status_code == 302
    shown = client.get(done.headers["Location"])
    assert banner(shown) == "Started recorded"
    assert text(page(shown).select_one("[data-declarations]")) == f"Started: {day.day} {day:%B %Y}"
    session.refresh(claim)
    assert claim.status == ClaimStatus.STARTED


def test_declarations_for_many_are_all_or_nothing(client, session, provider):
    cohort = started_cohort(session, provider)
    ann, bob, cat = enrol(session, cohort, 3)
    progress.record_declaration(session, cat, milestone_code="started", declared_on=today())
    session.commit()
    sign_in_provider(client, session, provider)
    url = f"/provider/cohorts/{cohort.id}/declarations"
    ids = [str(c.id) for c in (ann, bob, cat)]
    day = [str(today().day), str(today().month), str(today().year)]

    chosen = client.get(url, query_string={"claims": ids})
    assert "or for none" in text(page(chosen).select_one("[data-all-or-nothing]"))
    assert sorted(i["value"] for i in page(chosen).select("input[name=claims][checked]")) == sorted(
        ids
    )

    refused = submit(
        client,
        url,
        {"claims": ids, "milestone": "started", "declared_on": day},
        form_url=f"{url}?claims={ids[0]}",
    )
    assert refused.status_code == 200
    assert table_rows(refused, "[data-failures]") == [
        [cat.participant.full_name, "Started has already been declared"]
    ]
    assert error_summary(refused)[0][0].startswith(
        "1 of 3 declarations cannot be recorded, so none was"
    )
    assert session.scalar(sa.select(sa.func.count()).select_from(Declaration)) == 1

    done = submit(
        client,
        url,
        {"claims": ids[:2], "milestone": "started", "declared_on": day},
        form_url=f"{url}?claims={ids[0]}",
    )
    assert done.status_code == 302
    assert banner(client.get(done.headers["Location"])) == "Started recorded for 2 participants"
    assert session.scalar(sa.select(sa.func.count()).select_from(Declaration)) == 3

    nobody = submit(
        client, url, {"milestone": "started", "declared_on": day}, form_url=f"{url}?claims={ids[0]}"
    )
    assert nobody.status_code == 200


def test_withdrawal_needs_a_reason_and_gives_the_place_to_the_next_waiting(
    client, session, provider
):
    cohort = factories.create_cohort(session, provider=provider, places=1)
    funded, waiting = enrol(session, cohort, 2)
    sign_in_provider(client, session, provider)
    url = f"/provider/claims/{funded.id}/withdraw"

    confirm = client.get(url)
    assert heading(confirm) == f"Are you sure you want to withdraw {funded.participant.full_name}?"
    no_reason = submit(client, url, {})
    assert error_summary(no_reason) == [("Select the reason", "#reason")]
    other_blank = submit(client, url, {"reason": "other", "other_reason": "  "})
    assert error_summary(other_blank) == [("Give the reason for the withdrawal", "#other_reason")]

    done = submit(client, url, {"reason": "other", "other_reason": "Moved abroad"})
    assert done.status_code == 302
    assert banner(client.get(done.headers["Location"])) == (
        f"{funded.participant.full_name} has been withdrawn; 1 waiting participant funded"
    )
    session.refresh(funded)
    session.refresh(waiting)
    assert (funded.status, funded.end_reason) == (ClaimStatus.WITHDRAWN, "Moved abroad")
    assert waiting.status == ClaimStatus.FUNDED
    again = submit(client, url, {"reason": "health"}, form_url=f"/provider/claims/{funded.id}")
    assert error_summary(again) == [("This claim is already withdrawn", "#reason")]


def test_deferral_with_a_common_reason(client, session, provider):
    cohort = factories.create_cohort(session, provider=provider)
    [claim] = enrol(session, cohort)
    sign_in_provider(client, session, provider)
    done = submit(client, f"/provider/claims/{claim.id}/defer", {"reason": "parental-leave"})
    assert done.status_code == 302
    session.refresh(claim)
    assert (claim.status, claim.end_reason) == (ClaimStatus.DEFERRED, "Parental leave")


def test_a_participant_moves_to_another_cohort_of_the_provider(client, session, provider):
    first = factories.create_cohort(session, provider=provider, name="First")
    second = factories.create_cohort(session, provider=provider, name="Second")
    theirs = factories.create_cohort(session, name="Theirs")
    [claim] = enrol(session, first)
    sign_in_provider(client, session, provider)
    url = f"/provider/claims/{claim.id}/move"

    choices = [text(label) for label in page(client.get(url)).select(".govuk-radios__label")]
    assert len(choices) == 1 and choices[0].startswith("Second, starting")
    refused = submit(client, url, {"cohort": str(theirs.id)})
    assert error_summary(refused) == [("Select the cohort to move to", "#cohort")]

    done = submit(client, url, {"cohort": str(second.id)})
    assert done.status_code == 302
    assert banner(client.get(done.headers["Location"])) == (
        f"{claim.participant.full_name} moved to Second: funded"
    )
    session.refresh(claim)
    assert claim.cohort_id == second.id


def test_a_participant_deferred_in_training_resumes_from_their_page(client, session, provider):
    cohort = started_cohort(session, provider, name="Spring")
    [claim] = enrol(session, cohort)
    progress.record_declaration(
        session, claim, milestone_code="started", declared_on=today() - timedelta(days=10)
    )
    session.commit()
    sign_in_provider(client, session, provider)
    submit(client, f"/provider/claims/{claim.id}/defer", {"reason": "parental-leave"})

    shown = page(client.get(f"/provider/claims/{claim.id}"))
    assert shown.select_one(f"a[href='/provider/claims/{claim.id}/resume']") is not None
    form = page(client.get(f"/provider/claims/{claim.id}/resume"))
    assert form.select_one("[data-explains='in-training']") is not None
    assert form.select_one("input[name=cohort][checked]")["value"] == str(cohort.id)

    done = submit(client, f"/provider/claims/{claim.id}/resume", {"cohort": str(cohort.id)})

    assert done.status_code == 302
    assert banner(client.get(done.headers["Location"])) == (
        f"{claim.participant.full_name} resumed in Spring: back in training"
    )
    session.refresh(claim)
    assert (claim.status, claim.holds_place) == (ClaimStatus.STARTED, True)
    assert session.scalar(sa.select(sa.func.count()).select_from(Claim)) == 1


def test_only_a_deferred_participant_has_a_resume_page(client, session, provider):
    [claim] = enrol(session, factories.create_cohort(session, provider=provider))
    sign_in_provider(client, session, provider)

    assert client.get(f"/provider/claims/{claim.id}/resume").status_code == 404


def test_closing_a_cohort_warns_of_the_waiting_claims_it_releases(client, session, provider):
    cohort = factories.create_cohort(session, provider=provider, places=1)
    funded, waiting = enrol(session, cohort, 2)
    sign_in_provider(client, session, provider)
    url = f"/provider/cohorts/{cohort.id}/close"

    warning = page(client.get(url)).select_one("[data-releases]")
    assert "1 claim waiting for a place in this cohort will be released" in text(warning)
    assert submit(client, url, {}).status_code == 302

    session.refresh(waiting)
    assert waiting.status == ClaimStatus.WITHDRAWN
    assert "closed before a funded place came free" in waiting.end_reason
