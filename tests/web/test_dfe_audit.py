"""DfE staff read the audit trail: who changed what and when, filtered and paged."""

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from tests import factories
from tests.browser import error_summary, page, sign_in, submit, text
from tests.web.conftest import PASSWORD, create_account
from tests.web.test_dashboard import counting_statements
from tracker import places
from tracker.models import AuditEvent, Role
from tracker.progress import record_declaration


@pytest.fixture
def dfe_client(client, dfe_user):
    assert sign_in(client, dfe_user.email, PASSWORD).status_code == 302
    return client


def event(
    session, *, when, actor="someone@example.com", action="update", entity="cohorts", changes=None
):
    row = AuditEvent(
        occurred_dt=when,
        actor=actor,
        action=action,
        entity_type=entity,
        entity_id=7,
        changes=changes or {},
    )
    session.add(row)
    session.commit()
    return row


def shown_events(response) -> list[int]:
    return [int(row["data-event"]) for row in page(response).select("[data-event]")]


def test_a_change_made_on_a_page_is_in_the_trail_readably(dfe_client, session):
    factories.set_programme_places(session, factories.programme(session), 5000)
    factories.create_provider(session, ukprn="10000001", name="Alpha")
    session.commit()
    submit(
        dfe_client,
        "/dfe/programmes/ey-senco-l3/allocations/set",
        {"provider": "10000001", "places": "40"},
    )
    submit(
        dfe_client,
        "/dfe/programmes/ey-senco-l3/allocations/set",
        {"provider": "10000001", "places": "45"},
    )

    response = dfe_client.get("/dfe/audit?entity_type=allocations&actor=DFE@example")

    rows = page(response).select("[data-event]")
    assert [text(r.select_one("[data-what]")) for r in rows][0].startswith("Changed allocation")
    assert text(rows[0].select_one("[data-actor]")) == "dfe@example.com"
    assert "Places 40 → 45" in text(rows[0].select_one("[data-changes]"))
    created = text(rows[1].select_one("[data-changes]"))
    assert text(rows[1].select_one("[data-what]")).startswith("Created allocation")
    assert "Places 40" in created


def test_the_trail_is_filtered_by_record_action_actor_and_dates(dfe_client, session):
    march = event(session, when=datetime(2026, 3, 1, 12, tzinfo=UTC), actor="ann@example.com")
    # 23:30 UTC on 31 March is 00:30 on 1 April in London (summer time).
    april = event(
        session,
        when=datetime(2026, 3, 31, 23, 30, tzinfo=UTC),
        action="create",
        entity="claims",
        actor="ben@example.com",
    )

    def ids(query):
        return [
            i
            for i in shown_events(dfe_client.get(f"/dfe/audit?{query}"))
            if i in (march.id, april.id)
        ]

    assert ids("entity_type=claims") == [april.id]
    assert ids("action=update") == [march.id]
    assert ids("actor=ann") == [march.id]
    assert ids("occurred_from=1&occurred_from=4&occurred_from=2026") == [april.id]
    assert ids("occurred_to=31&occurred_to=3&occurred_to=2026") == [march.id]
    assert ids("actor=%25") == []  # a wildcard is a character like any other


def test_dates_and_moments_in_changes_read_as_gov_uk_writes_them(dfe_client, session):
    event(
        session,
        when=datetime(2026, 3, 1, tzinfo=UTC),
        entity="claims",
        changes={
            "funded_dt": [None, "2026-06-01T13:05:00+00:00"],
            "starts_on": ["2026-01-05", "2026-02-09"],
            "is_priority": [False, True],
        },
    )

    response = dfe_client.get("/dfe/audit?entity_type=claims")

    changes = text(page(response).select_one("[data-changes]"))
    assert "Funded (none) → 1 June 2026 at 2:05pm" in changes
    assert "Starts on 5 January 2026 → 9 February 2026" in changes
    assert "Is priority no → yes" in changes


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("occurred_from=31&occurred_from=2&occurred_from=2026", "From must be a real date"),
        (
            "occurred_from=1&occurred_from=1&occurred_from=99999999999999",
            "From must be a real date, with a 4-digit year",
        ),
        ("occurred_from=1&occurred_from=&occurred_from=2026", "From must include a month"),
        ("occurred_from=1", "From must include a month and year"),
        (
            "occurred_from=2&occurred_from=1&occurred_from=2026&occurred_to=1&occurred_to=1&occurred_to=2026",
            "To must be the same as or after from",
        ),
        ("action=explode", "Select an action from the list"),
        ("actor=a%00b", "Made by must not contain special characters"),
        ("entity_type=nothing", "Select a record from the list"),
    ],
)
def test_impossible_filters_are_errors_not_crashes(dfe_client, session, query, message):
    event(session, when=datetime(2026, 3, 1, tzinfo=UTC))
    response = dfe_client.get(f"/dfe/audit?{query}")

    assert response.status_code == 200
    assert [m for m, _ in error_summary(response)] == [message]
    assert shown_events(response) == []


def test_the_trail_is_paged_newest_first(dfe_client, session):
    for minute in range(55):
        event(session, when=datetime(2026, 3, 1, 12, minute, tzinfo=UTC), entity="regions")

    first = shown_events(dfe_client.get("/dfe/audit?entity_type=regions"))
    second = shown_events(dfe_client.get("/dfe/audit?entity_type=regions&page=2"))

    assert len(first) == 50 and len(second) == 5
    assert first == sorted(first, reverse=True)
    assert dfe_client.get("/dfe/audit?entity_type=regions&page=3").status_code == 404


def test_only_dfe_sees_the_trail(client, session):
    user = create_account(session, role=Role.LOCAL_AUTHORITY)
    sign_in(client, user.email, PASSWORD)
    assert client.get("/dfe/audit").status_code == 403


def test_the_next_page_keeps_a_date_filter(dfe_client, session):
    for minute in range(55):
        event(session, when=datetime(2026, 3, 1, 12, minute, tzinfo=UTC), entity="regions")

    first = dfe_client.get(
        "/dfe/audit?entity_type=regions&occurred_from=1&occurred_from=3&occurred_from=2026"
    )
    next_page = page(first).select_one(".govuk-pagination__next a")["href"]

    second = dfe_client.get(next_page)
    assert second.status_code == 200
    assert not error_summary(second)


def test_the_trails_counts_have_thousands_separators(dfe_client, session):
    when = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
    session.execute(
        sa.insert(AuditEvent),
        [
            {
                "occurred_dt": when,
                "actor": "bulk@example.com",
                "action": "update",
                "entity_type": "cohorts",
                "entity_id": n,
                "changes": {},
            }
            for n in range(1234)
        ],
    )
    session.commit()

    caption = text(page(dfe_client.get("/dfe/audit")).select_one("[data-audit-events] caption"))

    total = session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
    assert total >= 1234
    assert caption.startswith(f"{total:,} changes, page 1 of ")
    assert "," in caption.split(" changes")[0]


# -- records by name ---------------------------------------------------------------------------


def rows_of(response) -> list[tuple[str, str]]:
    """Each event shown: (what was done to which record, its changes)."""
    return [
        (text(row.select_one("[data-what]")), text(row.select_one("[data-changes]")))
        for row in page(response).select("[data-event]")
    ]


def test_records_and_the_records_a_change_refers_to_are_named_not_numbered(dfe_client, session):
    provider = factories.create_provider(session, ukprn="10000042", name="Alpha Training")
    cohort = factories.create_cohort(session, provider=provider, name="Spring 2027")
    setting = factories.create_setting(session, urn="EY123456", name="Little Owls")
    claim = places.claim_place(
        session, cohort, full_name="Ann Smith", email="ann@example.com", setting=setting
    ).claim
    record_declaration(
        session, claim, milestone_code="started", declared_on=cohort.starts_on, today=date.max
    )
    create_account(session, role=Role.SETTING, organisation="EY123456", email="owl@example.com")

    def shown(entity_type):
        return rows_of(dfe_client.get(f"/dfe/audit?entity_type={entity_type}"))

    [(what, changes)] = shown("settings")
    assert what == "Created setting Little Owls (URN EY123456)"
    [(what, changes)] = shown("cohorts")
    assert what == "Created cohort Spring 2027, Alpha Training"
    assert "Provider Alpha Training (UKPRN 10000042)" in changes
    assert "Programme Level 3 early years SENCo qualification" in changes
    changed, created = shown("claims")
    assert created[0] == "Created claim Ann Smith, Spring 2027"
    assert "Setting Little Owls (URN EY123456)" in created[1]
    assert "Cohort Spring 2027, Alpha Training" in created[1]
    assert changed[0] == "Changed claim Ann Smith, Spring 2027"
    [(what, changes)] = shown("declarations")
    assert what == "Created declaration Started, Ann Smith"
    assert "Claim Ann Smith, Spring 2027" in changes
    # A record created shows the values it was given, not those it was not.
    assert "Voided" not in changes
    what, changes = shown("users")[0]
    assert what == "Created user owl@example.com"
    assert "Setting Little Owls (URN EY123456)" in changes
    # A password is recorded as set, never by its value.
    assert "Password set" in changes and "argon2" not in changes
    # No record on the page is known only by its id.
    records = page(dfe_client.get("/dfe/audit")).select("[data-record]")
    assert records and not [text(r) for r in records if text(r).isdigit()]


def test_a_deleted_record_is_named_from_what_the_trail_kept_of_it(dfe_client, session):
    gone = factories.create_provider(session, ukprn="10000666", name="Gone Training")
    gone_id = gone.id
    session.delete(gone)
    session.flush()
    # Deleted before deletions kept their values: named from its creation.
    for action, changes in [
        ("create", {"name": "Old Training", "ukprn": "10000777"}),
        ("delete", {}),
    ]:
        session.add(
            AuditEvent(
                occurred_dt=datetime(2026, 1, 1, tzinfo=UTC),
                actor="someone@example.com",
                action=action,
                entity_type="providers",
                entity_id=777_000,
                changes=changes,
            )
        )
    # A record that refers to a deleted one, as an allocation of a provider since gone.
    session.add(
        AuditEvent(
            occurred_dt=datetime(2026, 1, 1, tzinfo=UTC),
            actor="someone@example.com",
            action="update",
            entity_type="allocations",
            entity_id=1,
            changes={"provider_id": [777_000, gone_id]},
        )
    )
    session.commit()

    shown = rows_of(dfe_client.get("/dfe/audit?entity_type=providers"))

    deleted, created = shown[:2]
    assert deleted[0] == "Deleted provider Gone Training (UKPRN 10000666)"
    assert "Name Gone Training" in deleted[1] and "Ukprn 10000666" in deleted[1]
    assert created[0] == "Created provider Gone Training (UKPRN 10000666) (deleted)"
    assert [what for what, _ in shown[2:]] == [
        "Deleted provider Old Training (UKPRN 10000777)",
        "Created provider Old Training (UKPRN 10000777) (deleted)",
    ]
    [(_what, changes)] = rows_of(dfe_client.get("/dfe/audit?entity_type=allocations"))
    assert changes == (
        "Provider Old Training (UKPRN 10000777) (deleted)"
        " → Gone Training (UKPRN 10000666) (deleted)"
    )
    kept = session.scalar(
        sa.select(AuditEvent.changes).where(
            AuditEvent.entity_id == gone_id, AuditEvent.action == "delete"
        )
    )
    assert kept == {"id": gone_id, "name": "Gone Training", "ukprn": "10000666"}


def test_the_page_names_its_records_in_as_many_queries_however_many_there_are(dfe_client, session):
    def statements_for_a_page_of(claims: int) -> int:
        session.execute(sa.delete(AuditEvent))
        cohort = factories.create_cohort(session)
        for n in range(claims):
            places.claim_place(
                session,
                cohort,
                full_name=f"Person {n}",
                email=f"person{n}.{cohort.id}@example.com",
                setting=factories.create_setting(session),
            )
        session.commit()
        dfe_client.get("/dfe/audit")  # the signed-in user and the like, loaded once
        with counting_statements() as statements:
            response = dfe_client.get("/dfe/audit")
        assert len(page(response).select("[data-event]")) >= claims
        return len(statements)

    assert statements_for_a_page_of(2) == statements_for_a_page_of(12)
