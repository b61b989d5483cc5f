"""Records the pages of the DfE, setting and local authority audiences are tested with."""

from tests import factories
from tests.browser import page, sign_in, text
from tests.web.conftest import PASSWORD, create_account
from tracker import places
from tracker.models import Role


def signed_in(client, session, role: Role, **kw):
    """Sign a new account of this role in on ``client``; return the account."""
    user = create_account(session, role=role, **kw)
    assert sign_in(client, user.email, PASSWORD).status_code == 302
    return user


def claim(session, cohort, setting, name: str = "Sam Staff", email: str | None = None, **kw):
    """A claim made by a setting for a member of its staff, committed."""
    email = email or f"{name.lower().replace(' ', '.')}@example.com"
    outcome = places.claim_place(
        session, cohort, full_name=name, email=email, setting=setting, **kw
    )
    session.commit()
    return outcome.claim


def table_rows(response, selector: str) -> list[list[str]]:
    """The text of each cell of each body row of the table matching ``selector``."""
    table = page(response).select_one(selector)
    assert table is not None, f"no table {selector}"
    return [[text(cell) for cell in row.select("th, td")] for row in table.select("tbody tr")]


def summary(response) -> dict[str, str]:
    return {
        text(row.select_one("dt")): text(row.select_one("dd"))
        for row in page(response).select(".govuk-summary-list__row")
    }


def field_error(response, field_id: str) -> str:
    """The error shown beside a field (for a date, beside its group)."""
    node = page(response).select_one(f"#{field_id}-error")
    return text(node).removeprefix("Error: ")


__all__ = ["factories", "signed_in", "claim", "table_rows", "summary", "field_error"]
