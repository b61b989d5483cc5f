"""Helpers shared by the training provider's page tests: a signed-in provider and its records."""

from datetime import date, timedelta

from tests import factories
from tests.browser import page, sign_in, text
from tests.web.conftest import PASSWORD, create_account
from tracker import places
from tracker.models import Provider, Role, User


def sign_in_provider(client, session, provider: Provider | None = None) -> User:
    """Sign in as a new account of ``provider`` (a new provider unless one is given)."""
    provider = provider or factories.create_provider(session)
    user = create_account(session, role=Role.PROVIDER, organisation=provider.ukprn)
    assert sign_in(client, user.email, PASSWORD).status_code == 302
    return user


def started_cohort(session, provider: Provider, **kw):
    """A cohort that started 60 days ago, so progress can be declared in it today."""
    today = date.today()  # noqa: DTZ011  (cohorts start on calendar dates)
    return factories.create_cohort(
        session, provider=provider, starts_on=today - timedelta(days=60), **kw
    )


def enrol(session, cohort, n: int = 1, *, setting=None, name: str = "Person"):
    """Claim places for ``n`` new people in the cohort (each at a setting of their own unless
    one is given, so the per-setting limit does not get in the way); return the claims."""
    claims = [
        places.claim_place(
            session,
            cohort,
            full_name=f"{name} {i}",
            email=f"{name.lower().replace(' ', '.')}.{i}.{cohort.id}@example.com",
            setting=setting or factories.create_setting(session),
        ).claim
        for i in range(n)
    ]
    session.commit()
    return claims


def table_rows(response, selector: str) -> list[list[str]]:
    """The text of each cell (th and td) of each body row of the table at ``selector``."""
    table = page(response).select_one(selector)
    assert table is not None, f"no {selector} on the page"
    return [[text(cell) for cell in row.select("th, td")] for row in table.select("tbody tr")]
