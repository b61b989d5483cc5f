"""`flask tracker ...`: the service's commands. Each commits once, at its end."""

import secrets

import click
from flask.cli import AppGroup

from tracker.audit import acting_as
from tracker.errors import DomainError
from tracker.extensions import db
from tracker.models import Role

tracker_cli = AppGroup("tracker", help="Commands of the SEND workforce training tracker.")


@tracker_cli.command("create-user")
@click.option("--email", required=True, help="The person's email address.")
@click.option(
    "--role", required=True, type=click.Choice([r.value for r in Role]), help="What they do."
)
@click.option(
    "--organisation",
    help="UKPRN of a provider, URN of a setting, or code of a local authority.",
)
@click.option("--password", help="Their password; one is generated when left out.")
@click.option("--name", "full_name", default="", help="Their full name.")
def create_user_command(email, role, organisation, password, full_name):
    """Create an account that can sign in."""
    from tracker.accounts import create_user

    generated = password is None
    if generated:
        password = secrets.token_urlsafe(12)
    with acting_as(label="command line"):
        try:
            user = create_user(
                db.session,
                email=email,
                role=Role(role),
                organisation=organisation,
                password=password,
                full_name=full_name,
            )
        except DomainError as exc:
            db.session.rollback()
            raise click.UsageError(exc.message) from None
        db.session.commit()
    click.echo(f"Created {user.role.value} account {user.email}")
    if generated:
        click.echo(f"Password: {password}")


@tracker_cli.command("demo")
@click.option("--scale", default=1.0, show_default=True, help="Multiply the amount of data.")
@click.option("--seed", default=2023, show_default=True, help="Random seed, for repeatable data.")
def demo_command(scale, seed):
    """Load realistic demo data (safe to run again: it loads once) and print the demo sign-ins."""
    from tracker.demo import DEMO_PASSWORD, load_demo

    with acting_as(label="demo data"):
        sign_ins = load_demo(db.session, scale=scale, seed=seed, echo=click.echo)
    click.echo(f"\nDemo sign-ins (password for each: {DEMO_PASSWORD})")
    for role, email, organisation in sign_ins:
        click.echo(f"  {role:<16} {email:<40} {organisation}")
