"""`flask tracker create-user`."""

import sqlalchemy as sa

from tests import factories
from tracker.accounts import check_password
from tracker.models import Role, User


def _user(session, email):
    return session.scalar(sa.select(User).where(User.email == email))


def test_create_user_for_a_provider_by_ukprn(runner, session):
    provider = factories.create_provider(session, ukprn="10012345")
    session.commit()

    result = runner.invoke(
        args=[
            "tracker",
            "create-user",
            "--email",
            "Ann@Provider.example",
            "--role",
            "provider",
            "--organisation",
            "10012345",
            "--password",
            "correct horse battery",
        ]
    )

    assert result.exit_code == 0, result.output
    user = _user(session, "ann@provider.example")
    assert (user.role, user.provider_id) == (Role.PROVIDER, provider.id)
    assert check_password(user, "correct horse battery")
    assert not check_password(user, "wrong password here")


def test_create_user_for_a_local_authority_by_either_code(runner, session):
    for email, code in (("a@la.example", "370"), ("b@la.example", "E08000016")):
        result = runner.invoke(
            args=[
                "tracker",
                "create-user",
                "--email",
                email,
                "--role",
                "local-authority",
                "--organisation",
                code,
            ]
        )
        assert result.exit_code == 0, result.output
        assert "Password: " in result.output
        assert _user(session, email).local_authority.name == "Barnsley"


def test_create_user_refuses_an_unknown_organisation_and_a_duplicate(runner, session):
    result = runner.invoke(
        args=[
            "tracker",
            "create-user",
            "--email",
            "x@example.com",
            "--role",
            "setting",
            "--organisation",
            "EY000000",
        ]
    )
    assert result.exit_code == 2
    assert "No setting has URN EY000000" in result.output

    ok = ["tracker", "create-user", "--email", "dfe@example.com", "--role", "dfe"]
    assert runner.invoke(args=ok).exit_code == 0
    again = runner.invoke(args=ok)
    assert again.exit_code == 2
    assert "already exists" in again.output
