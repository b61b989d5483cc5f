"""Queueing what is due, as the command (``flask tracker reminders run``) and the
scheduler do it; each function commits, being the edge of a command or a job.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from tracker.audit import acting_as
from tracker.reminders.defaults import ensure_default_rules
from tracker.reminders.outbox import Due, queue, queued_keys
from tracker.reminders.rules import due_reminders

logger = logging.getLogger(__name__)


@dataclass
class RunReport:
    due: int = 0
    queued: int = 0
    new: list[Due] = field(default_factory=list)  # filled on a dry run only


def queue_due_reminders(session: Session, now: datetime) -> RunReport:
    """Queue every reminder due at ``now`` that is not queued yet, and commit."""
    with acting_as(label="reminders"):
        ensure_default_rules(session)
        dues = due_reminders(session, now)
        added = queue(session, dues)
        session.commit()
    logger.info("Reminders due at %s: %d, newly queued: %d", now.isoformat(), len(dues), added)
    return RunReport(due=len(dues), queued=added)


def preview_run(session: Session, now: datetime) -> RunReport:
    """Say what a run at ``now`` would queue, writing nothing."""
    dues = due_reminders(session, now)
    unique = {d.key: d for d in dues}
    queued = queued_keys(session, unique)
    new = [d for key, d in sorted(unique.items()) if key not in queued]
    session.rollback()
    return RunReport(due=len(dues), queued=0, new=new)
