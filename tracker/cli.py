"""`flask tracker ...`: the service's commands. Each commits once, at its end."""

import secrets

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from tracker import figures
from tracker.audit import acting_as
from tracker.database import count_rows
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
        try:
            sign_ins = load_demo(db.session, scale=scale, seed=seed, echo=click.echo)
        except DomainError as exc:
            db.session.rollback()
            raise click.ClickException(exc.message) from None
    click.echo(f"\nDemo sign-ins (password for each: {DEMO_PASSWORD})")
    for role, email, organisation in sign_ins:
        click.echo(f"  {role:<16} {email:<40} {organisation}")


@tracker_cli.command("publish")
def publish_command():
    """Publish the public uptake figures now, unless this week's are published already."""
    from tracker import publication
    from tracker.formats import long_date

    with acting_as(label="command line"):
        published = publication.publish(db.session, by="command line")
        db.session.commit()
    snapshot = published.snapshot
    if published.created:
        click.echo(f"Published the public uptake figures for {long_date(snapshot.figures_on)}.")
    else:
        published_on = publication.london_date(snapshot.published_dt)
        click.echo(
            f"This week's figures were published already, on {long_date(published_on)}"
            f" (figures for {long_date(snapshot.figures_on)}): nothing to do."
        )
    following = publication.next_publication(db.session)
    click.echo(f"The next publication is due on {following:%A} {long_date(following.date())}.")


# -- reminders ---------------------------------------------------------------------------


@tracker_cli.group("reminders")
def reminders_cli():
    """Reminders: what is due, the outbox, and sending."""


def _parse_now(value: str | None):
    from datetime import datetime

    from tracker.models.base import utcnow
    from tracker.reminders.time import LONDON

    if value is None:
        return utcnow()
    try:
        now = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not an ISO date and time", param_hint="--now"
        ) from None
    # A time without a zone is London time, as people mean it.
    return now if now.tzinfo else now.replace(tzinfo=LONDON)


@reminders_cli.command("run")
@click.option("--now", "now_text", help="Compute what is due at this ISO date-time (London).")
@click.option("--dry-run", is_flag=True, help="Show what would be queued; queue and send nothing.")
def reminders_run_command(now_text, dry_run):
    """Queue the reminders that are due, then send everything queued."""
    from datetime import timedelta

    from flask import current_app
    from tqdm import tqdm

    from tracker.models.base import utcnow
    from tracker.reminders.backends import backend_from_config
    from tracker.reminders.outbox import count_sendable, send_queued
    from tracker.reminders.runs import preview_run, queue_due_reminders

    now = _parse_now(now_text)
    if dry_run:
        report = preview_run(db.session, now)
        click.echo(f"Due at {now.isoformat()}: {report.due}; not yet queued: {len(report.new)}")
        for due in report.new:
            click.echo(f"  {due.rule.code:<20} {due.recipient.email:<40} {due.subject}")
        return
    backend = backend_from_config(current_app.config)
    report = queue_due_reminders(db.session, now)
    click.echo(f"Due at {now.isoformat()}: {report.due}; newly queued: {report.queued}")
    total = count_sendable(db.session, utcnow())
    db.session.commit()
    # A progress bar when the run is long and someone is watching (tqdm hides it otherwise).
    with tqdm(total=total, unit="message", disable=None if total >= 20 else True) as bar:
        sending = send_queued(
            db.session,
            backend,
            lease=timedelta(seconds=current_app.config["REMINDERS_LEASE_SECONDS"]),
            on_message=lambda: bar.update(1),
        )
    click.echo(
        f"Sent {sending.sent} through {backend.name}; to retry later: {sending.retrying}; "
        f"failed: {sending.failed}; cancelled (opted out): {sending.cancelled}"
    )


@reminders_cli.command("preview")
@click.option("--days", default=7, show_default=True, help="How many days ahead.")
def reminders_preview_command(days):
    """Show what would be queued on each of the coming days, if nothing changed."""
    from tracker.models.base import utcnow
    from tracker.reminders.rules import preview_due
    from tracker.reminders.time import london_date

    for day, due in preview_due(db.session, london_date(utcnow()), days):
        click.echo(f"{day}  {due.rule.code:<20} {due.recipient.email:<40} {due.subject}")
    db.session.rollback()


@reminders_cli.command("outbox")
@click.option("--status", type=click.Choice(["queued", "sending", "sent", "failed", "cancelled"]))
@click.option("--rule", "rule_code", help="Only this rule, e.g. place-offered.")
@click.option("--recipient", help="Only this email address.")
@click.option("--limit", default=50, show_default=True)
def reminders_outbox_command(status, rule_code, recipient, limit):
    """List outbox messages, newest first."""
    from tracker.reminders.outbox import count_by_status, list_messages

    counts = count_by_status(db.session)
    click.echo(", ".join(f"{name}: {n}" for name, n in counts.items()))
    for m in list_messages(
        db.session, status=status, rule_code=rule_code, recipient=recipient, limit=limit
    ):
        when = (m.sent_dt or m.failed_dt or m.created_dt).isoformat(timespec="seconds")
        line = f"{m.id:>6} {m.status.value:<9} {when} {m.rule_code:<20} {m.recipient} {m.subject}"
        click.echo(line + (f"  [{m.last_error}]" if m.last_error else ""))
    db.session.rollback()


@tracker_cli.command("scheduler")
def scheduler_command():
    """Run the scheduled jobs in this process, until stopped (run one, outside web workers)."""
    from flask import current_app

    from tracker.scheduler import leave, run_scheduler

    run_scheduler(current_app._get_current_object())
    leave()


@tracker_cli.command("create-token")
@click.option("--email", required=True, help="The provider or DfE account the token acts as.")
def create_token_command(email):
    """Create an API token for an account and print it (it cannot be shown again)."""

    from tracker.models import User
    from tracker.participants import normalise_email
    from tracker.tokens import create_token

    with acting_as(label="command line"):
        user = db.session.scalar(sa.select(User).where(User.email == normalise_email(email)))
        if user is None:
            raise click.UsageError(f"No account has the email address {email}")
        try:
            token, secret = create_token(db.session, user)
        except DomainError as exc:
            db.session.rollback()
            raise click.UsageError(exc.message) from None
        db.session.commit()
    click.echo(f"Created API token {token.prefix} for {user.email} ({user.role.value})")
    click.echo(secret)


@tracker_cli.command("revoke-token")
@click.argument("token")
def revoke_token_command(token):
    """Revoke an API token, named by its 12-character prefix or the whole token."""
    from tracker.tokens import find_token, revoke_token

    with acting_as(label="command line"):
        try:
            revoked = revoke_token(db.session, find_token(db.session, token))
        except DomainError as exc:
            db.session.rollback()
            raise click.UsageError(exc.message) from None
        db.session.commit()
    click.echo(f"Revoked API token {revoked.prefix} of {revoked.user.email}")


@tracker_cli.group("figures")
def figures_cli():
    """The claim counts the dashboards read, kept by the database as claims change."""


@figures_cli.command("check")
@click.option("--limit", default=50, show_default=True, help="Show at most this many differences.")
def figures_check_command(limit):
    """Count every figure again from the claims; exit 1 if a kept count differs."""
    if db.engine.dialect.name == "postgresql":
        # One snapshot for the kept counts and the claims, whatever commits meanwhile.
        db.session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    drift = figures.check(db.session)
    db.session.rollback()
    if not drift:
        click.echo("No drift: every kept count equals the count from the claims.")
        return
    for difference in drift[:limit]:
        click.echo(str(difference))
    if len(drift) > limit:
        click.echo(f"... and {len(drift) - limit:,} more.")
    click.echo(f"Drift: {len(drift):,} kept counts differ from the claims.", err=True)
    click.get_current_context().exit(1)


@figures_cli.command("rebuild")
def figures_rebuild_command():
    """Write every kept count again from the claims."""
    figures.rebuild(db.session)
    db.session.commit()
    click.echo("Claim counts rebuilt from the claims.")


@tracker_cli.group("participants")
def participants_cli():
    """People matched across organisations, and details given differently for one person."""


@participants_cli.command("conflicts")
@click.option("--resolved", is_flag=True, help="List resolved conflicts instead.")
@click.option("--limit", default=50, show_default=True, help="Show at most this many.")
def participants_conflicts_command(resolved, limit):
    """List claims naming a known person with another name or TRN, newest first."""
    from tracker.participants import conflicts_query

    query = conflicts_query(resolved=resolved)
    total = count_rows(db.session, query)
    for c in db.session.scalars(query.limit(limit)).unique():
        claim = c.claim
        by = f"{claim.cohort.provider.name} (UKPRN {claim.cohort.provider.ukprn})"
        if claim.setting is not None:
            by += f" for {claim.setting.name} (URN {claim.setting.urn})"
        click.echo(
            f"{c.id:>6} {c.created_dt:%Y-%m-%d} {c.participant.email} {c.field.label}:"
            f" recorded {c.recorded or '(none)'!r}, claim {claim.id} gives {c.given or '(none)'!r},"
            f" by {by}" + (f"; resolved: {c.resolution}" if c.is_resolved else "")
        )
    kind = "resolved" if resolved else "to resolve"
    click.echo(f"{total:,} conflict{'s' if total != 1 else ''} {kind}.")
    db.session.rollback()
