"""Every DfE page is for DfE staff only: other roles get 403, strangers are asked to sign in."""

import pytest

from tests import factories
from tests.browser import heading, page, sign_in, submit, text
from tests.web.conftest import PASSWORD, create_account
from tracker.models import Allocation, ProgrammeTarget, Role

PAGES = [
    "/dfe/",
    "/dfe/programmes",
    "/dfe/programmes/ey-senco-l3",
    "/dfe/programmes/ey-senco-l3/target",
    "/dfe/programmes/ey-senco-l3/allocations",
    "/dfe/programmes/ey-senco-l3/allocations/set",
    "/dfe/cohorts",
    "/dfe/cohorts/{cohort}",
    "/dfe/audit",
    "/dfe/reminders/",
    "/dfe/reminders/outbox",
    "/dfe/reminders/preview",
]


@pytest.mark.parametrize("role", [Role.PROVIDER, Role.SETTING, Role.LOCAL_AUTHORITY])
def test_other_roles_may_not_see_or_change_anything(client, session, role):
    cohort = factories.create_cohort(session)
    session.commit()
    user = create_account(session, role=role)
    sign_in(client, user.email, PASSWORD)

    for url in PAGES:
        response = client.get(url.format(cohort=cohort.id))
        assert response.status_code == 403, url
        assert heading(response) == "You do not have permission to see this page"
    for url, data in [
        (
            "/dfe/programmes/ey-senco-l3/target",
            {"places": "1", "effective_on": ["1", "1", "2026"], "note": "x"},
        ),
        (
            "/dfe/programmes/ey-senco-l3/allocations/set",
            {"provider": cohort.provider.ukprn, "places": "1"},
        ),
    ]:
        assert submit(client, url, data, form_url="/cookies").status_code == 403
    session.expire_all()
    assert session.query(ProgrammeTarget).filter_by(places=1).count() == 0
    assert session.query(Allocation).filter_by(places=1).count() == 0


def test_strangers_are_asked_to_sign_in(client, session):
    cohort = factories.create_cohort(session)
    session.commit()
    for url in PAGES:
        response = client.get(url.format(cohort=cohort.id))
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith("/sign-in?next=")


def test_dfe_navigation_links_each_section(client, session, dfe_user):
    sign_in(client, dfe_user.email, PASSWORD)

    html = page(client.get("/dfe/"))
    links = {text(a): a["href"] for a in html.select(".govuk-service-navigation__item a")}
    assert links["Programmes"] == "/dfe/programmes"
    assert links["Cohorts"] == "/dfe/cohorts"
    assert links["Audit trail"] == "/dfe/audit"
    assert links["Dashboard"] == "/dashboard"


def test_only_the_section_of_the_page_is_marked_in_the_navigation(client, session, dfe_user):
    sign_in(client, dfe_user.email, PASSWORD)

    html = page(client.get("/dfe/cohorts"))

    active = html.select(".govuk-service-navigation__item--active")
    assert [text(item) for item in active] == ["Cohorts"]
