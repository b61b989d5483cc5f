"""`flask tracker create-user`, `figures check|rebuild` and `publish`."""

import sqlalchemy as sa

from tests import factories
from tracker import places
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


# -- figures check and rebuild -----------------------------------------------------------


def _claims(session, n=3):
    cohort = factories.create_cohort(session, places=2)
    for i in range(n):
        places.claim_place(
            session,
            cohort,
            full_name=f"P {i}",
            email=f"p{i}@example.com",
            setting=factories.create_setting(session),
        )
    session.commit()


def test_figures_check_finds_no_drift_and_exits_0(runner, session):
    _claims(session)

    result = runner.invoke(args=["tracker", "figures", "check"])

    assert result.exit_code == 0, result.output
    assert "No drift" in result.output


def test_figures_check_reports_drift_and_exits_1_until_rebuilt(runner, session):
    _claims(session)
    session.execute(sa.text("UPDATE area_claim_counts SET n = n + 5"))
    session.commit()

    result = runner.invoke(args=["tracker", "figures", "check"])

    assert result.exit_code == 1
    assert "area_claim_counts" in result.output and "counted from claims" in result.output
    assert runner.invoke(args=["tracker", "figures", "rebuild"]).exit_code == 0
    assert runner.invoke(args=["tracker", "figures", "check"]).exit_code == 0


def test_a_command_prints_what_was_asked_for_and_nothing_of_its_libraries(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'quiet.sqlite3'}"}
    env.pop("TRACKER_ENV", None)
    flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
    subprocess.run([*flask, "db", "upgrade"], cwd=root, env=env, check=True, capture_output=True)  # noqa: S603

    done = subprocess.run(  # noqa: S603
        [*flask, "tracker", "figures", "check"], cwd=root, env=env, capture_output=True, text=True
    )

    assert done.returncode == 0, done.stderr
    assert (done.stdout + done.stderr).strip().splitlines() == [
        "No drift: every kept count equals the count from the claims."
    ]


def test_publish_publishes_the_public_figures_once_a_week(runner, session, client):
    from tracker.models import AuditEvent, PublishedSnapshot

    _claims(session)

    first = runner.invoke(args=["tracker", "publish"])
    second = runner.invoke(args=["tracker", "publish"])

    assert first.exit_code == 0, first.output
    assert first.output.startswith("Published the public uptake figures for ")
    assert "The next publication is due on Thursday " in first.output
    assert second.exit_code == 0, second.output
    assert "published already" in second.output and "nothing to do" in second.output
    [snapshot] = session.scalars(sa.select(PublishedSnapshot)).all()
    assert snapshot.published_by == "command line"
    assert (
        session.scalar(
            sa.select(AuditEvent.actor).where(AuditEvent.entity_type == "published_snapshots")
        )
        == "command line"
    )
    assert client.get("/public/uptake").get_data(as_text=True).count("data-table=") == 3
