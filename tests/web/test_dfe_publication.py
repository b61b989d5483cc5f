"""DfE staff see when the public uptake figures were published, and publish them now."""

import pytest
import sqlalchemy as sa

from tests import factories
from tests.browser import banner, heading, page, sign_in, submit, text
from tests.web.conftest import PASSWORD, create_account
from tests.web.test_public import claims_in, public_table
from tracker import publication
from tracker.models import AuditEvent, PublishedSnapshot, Role


@pytest.fixture
def dfe_client(client, dfe_user):
    assert sign_in(client, dfe_user.email, PASSWORD).status_code == 302
    return client


def link(html, words: str):
    return next((a for a in html.select("a") if text(a) == words), None)


def snapshots(session) -> list[PublishedSnapshot]:
    return list(session.scalars(sa.select(PublishedSnapshot)))


def test_dfe_publishes_the_figures_after_confirming_and_the_public_page_shows_them(
    dfe_client, session, dfe_user
):
    prog = factories.programme(session, "ey-senco-l3")
    cohort = factories.create_cohort(session, prog=prog, places=100)
    claims_in(session, cohort, "888", 12)
    assert dfe_client.get("/public/uptake").status_code == 200

    status = dfe_client.get("/dfe/publication")
    assert heading(status) == "Public uptake figures"
    assert text(page(status).select_one("[data-not-published]")) == (
        "No figures have been published yet."
    )
    confirm = dfe_client.get(link(page(status), "Publish the figures now")["href"])
    assert heading(confirm) == ("Are you sure you want to publish the public uptake figures now?")
    assert snapshots(session) == []  # asking is not publishing

    response = submit(dfe_client, "/dfe/publication/publish")

    assert response.status_code == 302
    shown = dfe_client.get(response.headers["Location"])
    assert banner(shown).startswith("Published the public uptake figures for ")
    [snapshot] = snapshots(session)
    assert snapshot.published_by == dfe_user.email
    assert text(page(shown).select_one("[data-publication]")).find(dfe_user.email) >= 0
    _, rows = public_table(page(dfe_client.get("/public/uptake")), prog.code)
    assert rows["North West"]["Claimed"] == "10"
    audit = session.scalar(
        sa.select(AuditEvent).where(AuditEvent.entity_type == "published_snapshots")
    )
    assert audit is not None and audit.actor == dfe_user.email


def test_a_second_publication_in_the_week_is_not_offered_nor_made(dfe_client, session):
    publication.publish(session, by="the weekly schedule")
    session.commit()

    status = page(dfe_client.get("/dfe/publication"))
    assert link(status, "Publish the figures now") is None
    assert "This week's figures are published" in text(
        status.select_one("[data-published-this-week]")
    )
    confirm = dfe_client.get("/dfe/publication/publish")
    assert heading(confirm) == "This week's figures are already published"
    assert page(confirm).select_one("main form") is None

    response = submit(dfe_client, "/dfe/publication/publish", form_url="/dfe/publication")

    assert response.status_code == 302
    assert len(snapshots(session)) == 1


@pytest.mark.parametrize("role", [Role.PROVIDER, Role.SETTING, Role.LOCAL_AUTHORITY])
def test_only_dfe_may_publish(client, session, role):
    user = create_account(session, role=role)
    session.commit()
    sign_in(client, user.email, PASSWORD)

    assert client.get("/dfe/publication").status_code == 403
    response = submit(client, "/dfe/publication/publish", form_url="/public/uptake")

    assert response.status_code == 403
    assert snapshots(session) == []


def test_a_stranger_is_asked_to_sign_in(client, session):
    assert client.get("/dfe/publication").status_code == 302
    assert client.post("/dfe/publication/publish").status_code in (302, 400)
    assert snapshots(session) == []
