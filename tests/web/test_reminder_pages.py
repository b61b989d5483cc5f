"""DfE's reminder pages, and the link in each email that stops non-essential reminders."""

import re

import sqlalchemy as sa

from tests import factories
from tests.browser import heading, page, sign_in, submit, text
from tests.reminders.helpers import funded_claim
from tests.web.conftest import PASSWORD
from tracker.models import OutboxMessage, OutboxStatus, Participant
from tracker.reminders.audience import Recipient
from tracker.reminders.defaults import DEFAULT_RULES, NO_PROGRESS, PLACE_OFFERED
from tracker.reminders.outbox import Due, queue


def _due(participant, *, rule=NO_PROGRESS):
    recipient = Recipient(participant.email, participant.full_name, "participant", participant.id)
    values = {"programme": "NPQ", "cohort": "C1", "provider": "P", "last_progress_on": "1 May"}
    return Due(DEFAULT_RULES[rule], recipient, f"claim:{participant.id}", "2026-11", values)


def _participant(session):
    cohort = factories.create_cohort(session, places=5)
    return funded_claim(session, cohort, email="ada@example.com", full_name="Ada").participant


def test_dfe_sees_what_went_out_and_why_a_message_failed(client, session, dfe_user):
    ada = _participant(session)
    queue(session, [_due(ada)])
    message = session.scalar(sa.select(OutboxMessage))
    message.status = OutboxStatus.FAILED
    message.last_error = "550 Mailbox unavailable"
    session.commit()
    sign_in(client, dfe_user.email, PASSWORD)

    response = client.get("/dfe/reminders/outbox?status=failed")

    assert response.status_code == 200
    rows = page(response).select("[data-messages] [data-message]")
    assert [text(r.select_one("[data-error]")) for r in rows] == ["550 Mailbox unavailable"]
    assert (
        text(page(client.get("/dfe/reminders/outbox?status=sent")).select_one("[data-no-results]"))
        == "No reminders match these filters."
    )


def test_a_bad_outbox_filter_is_an_error_not_a_crash(client, session, dfe_user):
    session.commit()
    sign_in(client, dfe_user.email, PASSWORD)

    response = client.get("/dfe/reminders/outbox?status=nonsense&rule=%00")

    assert response.status_code == 200
    assert page(response).select_one(".govuk-error-summary") is not None


def test_dfe_sees_the_rules_and_next_weeks_preview(client, session, dfe_user):
    session.commit()
    sign_in(client, dfe_user.email, PASSWORD)

    rules = client.get("/dfe/reminders/")
    preview = client.get("/dfe/reminders/preview")

    assert heading(rules) == "Reminders"
    assert {t["data-rule"] for t in page(rules).select("[data-rule]")} >= {
        NO_PROGRESS,
        PLACE_OFFERED,
    }
    assert preview.status_code == 200
    assert "would be sent if nothing changed" in text(page(preview).select_one("[data-total]"))


def test_each_non_essential_email_links_to_a_page_that_stops_reminders(client, session):
    ada = _participant(session)
    queue(session, [_due(ada)])
    session.commit()
    body = session.scalar(sa.select(OutboxMessage.body))
    link = re.search(r"http://127\.0\.0\.1:5000(/reminders/stop/\S+)", body).group(1)

    asked = client.get(link)
    assert heading(asked) == "Stop reminders"
    session.expire_all()
    assert session.get(Participant, ada.id).reminders_opted_out_dt is None  # a GET changes nothing

    stopped = submit(client, link, {})
    assert heading(stopped) == "Reminders stopped"
    session.expire_all()
    assert session.get(Participant, ada.id).reminders_opted_out_dt is not None


def test_essential_emails_carry_no_stop_link_and_a_forged_link_is_refused(client, session):
    ada = _participant(session)
    queue(session, [_due(ada, rule=PLACE_OFFERED)])
    session.commit()

    assert "/reminders/stop/" not in session.scalar(sa.select(OutboxMessage.body))
    assert client.get("/reminders/stop/not-a-real-token").status_code == 404


def test_dfe_changes_a_reminders_days_and_wording(client, session, dfe_user):
    session.commit()
    sign_in(client, dfe_user.email, PASSWORD)
    url = "/dfe/reminders/npq-senco/no-progress"

    saved = submit(
        client,
        url,
        {
            "days": "45",
            "audience": ["participant", "provider"],
            "subject": "Nothing recorded since ${last_progress_on}",
            "body": "Dear ${recipient_name}, please tell your provider how you are getting on.",
            "is_enabled": "yes",
        },
    )

    assert saved.status_code == 302
    rules = page(client.get("/dfe/reminders/"))
    row = [
        r
        for r in rules.select("[data-rule='no-progress'] tbody tr")
        if "National Professional Qualification" in text(r.select_one("th"))
    ][0]
    assert [text(c) for c in row.select("td")][:3] == [
        "participant, provider",
        "45",
        "Nothing recorded since ${last_progress_on}",
    ]


def test_a_broken_reminder_is_refused_with_what_was_typed(client, session, dfe_user):
    session.commit()
    sign_in(client, dfe_user.email, PASSWORD)

    response = submit(
        client,
        "/dfe/reminders/npq-senco/no-progress",
        {"days": "-3", "subject": "Hello", "body": "Costs ${", "is_enabled": "maybe"},
    )

    assert response.status_code == 200
    assert len(page(response).select(".govuk-error-summary__list li")) == 3
    assert page(response).select_one("textarea[name=body]").text == "Costs ${"
    assert client.get("/dfe/reminders/npq-senco/not-a-rule").status_code == 404
