"""How the audit trail reads on DfE's page: each record, and each record a change refers to,
by the name people know it by (a setting's name and URN, a cohort's name and provider, a
user's email address), not by its id.

The trail keeps ids: a record's name can change, and the trail must not be rewritten when it
does. So the names are read when the page is shown, for the records on that page only: one
query for each kind of record the page names. A record since deleted is named from what its
deletion (or, before deletions kept values, its creation) recorded.
"""

import functools
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker.formats import london_datetime, long_date
from tracker.models import (
    Allocation,
    ApiToken,
    AuditEvent,
    Claim,
    Cohort,
    ConflictField,
    Declaration,
    LocalAuthority,
    Milestone,
    OutboxMessage,
    Participant,
    ParticipantConflict,
    Programme,
    ProgrammeTarget,
    Provider,
    PublishedSnapshot,
    Region,
    RegionQuota,
    ReminderRule,
    Setting,
    User,
)
from tracker.models.base import Base

ACTIONS = {"create": "Created", "update": "Changed", "delete": "Deleted"}
# How the audit trail stores dates and moments (see tracker.audit._plain).
ISO_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:\d{2}|Z)?)?$")


def record_label(entity_type: str) -> str:
    """Name a table as a kind of record: 'programme_targets' reads 'Programme target'."""
    words = entity_type.replace("_", " ")
    if words.endswith("ies"):
        words = words[:-3] + "y"
    elif words.endswith("s"):
        words = words[:-1]
    return words.capitalize()


# -- names of records ----------------------------------------------------------------------


def _parts(*parts: Any) -> str:
    """Join the parts of a name that are known: a deleted record may lack the joined ones."""
    return ", ".join(str(part) for part in parts if part not in (None, ""))


def _code(name: Any, label: str, code: Any) -> str:
    return f"{name} ({label} {code})" if code else _parts(name)


def _day(value: Any) -> str:
    if isinstance(value, str) and ISO_MOMENT.match(value):
        value = date.fromisoformat(value[:10])
    return long_date(value) if isinstance(value, date) else ""


@dataclass(frozen=True)
class Namer:
    """How records of one kind are named: the query of their naming columns (the first, their
    id) and the name made of one row of it, or of the values an event recorded."""

    query: Callable[[], sa.Select]
    name: Callable[[Mapping[str, Any]], str]


_provider = Provider.name.label("provider")
_programme = Programme.name.label("programme")

NAMERS: dict[str, Namer] = {
    "allocations": Namer(
        lambda: (
            sa.select(Allocation.id, _provider, _programme)
            .join(Allocation.provider)
            .join(Allocation.programme)
        ),
        lambda r: _parts(r.get("provider"), r.get("programme")),
    ),
    "api_tokens": Namer(
        lambda: sa.select(ApiToken.id, ApiToken.prefix, User.email).join(
            User, User.id == ApiToken.user_id
        ),
        lambda r: _parts(f"{r['prefix']}…" if r.get("prefix") else "", r.get("email")),
    ),
    "claims": Namer(
        lambda: sa.select(Claim.id, Claim.full_name, Cohort.name.label("cohort")).join(
            Claim.cohort
        ),
        lambda r: _parts(r.get("full_name"), r.get("cohort")),
    ),
    "cohorts": Namer(
        lambda: sa.select(Cohort.id, Cohort.name, _provider).join(Cohort.provider),
        lambda r: _parts(r.get("name"), r.get("provider")),
    ),
    "declarations": Namer(
        lambda: (
            sa.select(Declaration.id, Milestone.name.label("milestone"), Claim.full_name)
            .join(Declaration.milestone)
            .join(Declaration.claim)
        ),
        lambda r: _parts(r.get("milestone"), r.get("full_name")),
    ),
    "local_authorities": Namer(
        lambda: sa.select(LocalAuthority.id, LocalAuthority.name, LocalAuthority.la_code),
        lambda r: _code(r.get("name"), "LA code", r.get("la_code")),
    ),
    "milestones": Namer(
        lambda: sa.select(Milestone.id, Milestone.name, _programme).join(Milestone.programme),
        lambda r: _parts(r.get("name"), r.get("programme")),
    ),
    "outbox_messages": Namer(
        lambda: sa.select(OutboxMessage.id, OutboxMessage.subject, OutboxMessage.recipient),
        lambda r: _parts(r.get("subject"), f"to {r['recipient']}" if r.get("recipient") else ""),
    ),
    "participant_conflicts": Namer(
        lambda: sa.select(
            ParticipantConflict.id, ParticipantConflict.field, Participant.full_name
        ).join(ParticipantConflict.participant),
        lambda r: _parts(
            r.get("full_name"),
            f"{ConflictField(r['field']).label} given differently" if r.get("field") else "",
        ),
    ),
    "participants": Namer(
        lambda: sa.select(Participant.id, Participant.full_name),
        lambda r: _parts(r.get("full_name")),
    ),
    "programme_targets": Namer(
        lambda: sa.select(ProgrammeTarget.id, ProgrammeTarget.effective_on, _programme).join(
            ProgrammeTarget.programme
        ),
        lambda r: _parts(
            r.get("programme"), f"from {_day(r['effective_on'])}" if r.get("effective_on") else ""
        ),
    ),
    "programmes": Namer(
        lambda: sa.select(Programme.id, Programme.name), lambda r: _parts(r.get("name"))
    ),
    "providers": Namer(
        lambda: sa.select(Provider.id, Provider.name, Provider.ukprn),
        lambda r: _code(r.get("name"), "UKPRN", r.get("ukprn")),
    ),
    "published_snapshots": Namer(
        lambda: sa.select(PublishedSnapshot.id, PublishedSnapshot.figures_on),
        lambda r: f"figures for {_day(r['figures_on'])}" if r.get("figures_on") else "",
    ),
    "regions": Namer(lambda: sa.select(Region.id, Region.name), lambda r: _parts(r.get("name"))),
    "region_quotas": Namer(
        lambda: sa.select(RegionQuota.id, RegionQuota.name, _programme).join(RegionQuota.programme),
        lambda r: _parts(r.get("name"), r.get("programme")),
    ),
    "reminder_rules": Namer(
        lambda: sa.select(ReminderRule.id, ReminderRule.code, _programme).join(
            ReminderRule.programme
        ),
        lambda r: _parts(r.get("code"), r.get("programme")),
    ),
    "settings": Namer(
        lambda: sa.select(Setting.id, Setting.name, Setting.urn),
        lambda r: _code(r.get("name"), "URN", r.get("urn")),
    ),
    "users": Namer(lambda: sa.select(User.id, User.email), lambda r: _parts(r.get("email"))),
}


@functools.cache
def _references() -> dict[tuple[str, str], str]:
    """Each column holding another record's id, as (table, column): the table it refers to."""
    return {
        (table.name, column.name): foreign_key.column.table.name
        for table in Base.metadata.tables.values()
        for column in table.columns
        for foreign_key in column.foreign_keys
    }


def _ids(value: Any) -> Iterable[int]:
    values = value if isinstance(value, list) else [value]
    return (v for v in values if isinstance(v, int) and not isinstance(v, bool))


class RecordNames:
    """The names of the records a page of audit events is about and refers to."""

    def __init__(self, session: Session, events: list[AuditEvent]):
        wanted: dict[str, set[int]] = defaultdict(set)
        references = _references()
        for event in events:
            if event.entity_id is not None:
                wanted[event.entity_type].add(event.entity_id)
            for column, change in (event.changes or {}).items():
                table = references.get((event.entity_type, column))
                if table is not None:
                    wanted[table].update(_ids(change))
        self._names: dict[tuple[str, int], str] = {}
        for table, ids in wanted.items():
            namer = NAMERS.get(table)
            if namer is None or not ids:
                continue
            query = namer.query()
            id_column = query.selected_columns[0]
            for row in session.execute(query.where(id_column.in_(sorted(ids)))).mappings():
                self._names[(table, row["id"])] = namer.name(row)
        self._deleted = self._named_by_the_trail(
            session,
            {
                (table, record_id)
                for table, ids in wanted.items()
                if table in NAMERS
                for record_id in ids
                if (table, record_id) not in self._names
            },
        )

    @staticmethod
    def _named_by_the_trail(
        session: Session, missing: set[tuple[str, int]]
    ) -> dict[tuple[str, int], str]:
        """Records gone from their tables, named from the values the trail recorded for them:
        at their deletion, or else at their creation."""
        if not missing:
            return {}
        events = session.execute(
            sa.select(AuditEvent.entity_type, AuditEvent.entity_id, AuditEvent.changes)
            .where(
                AuditEvent.action.in_(("create", "delete")),
                sa.tuple_(AuditEvent.entity_type, AuditEvent.entity_id).in_(sorted(missing)),
            )
            .order_by(AuditEvent.id)
        )
        names = {}
        for entity_type, entity_id, values in events:
            name = NAMERS[entity_type].name(values or {}) if values else ""
            if name:  # the latest that names it: the deletion, if it kept values
                names[(entity_type, entity_id)] = name
        return names

    def of(self, entity_type: str, entity_id: int | None, *, say_deleted: bool = True) -> str:
        """A record's name (saying so if it has since been deleted), or its id where it has
        none the page can find."""
        if entity_id is None:
            return ""
        key = (entity_type, entity_id)
        if key in self._names:
            return self._names[key]
        if key in self._deleted:
            return f"{self._deleted[key]} (deleted)" if say_deleted else self._deleted[key]
        return str(entity_id)

    def action(self, event: AuditEvent) -> str:
        """What an event did to what kind of record: 'Changed setting'."""
        action = ACTIONS.get(event.action, event.action)
        return f"{action} {record_label(event.entity_type).lower()}"

    def record(self, event: AuditEvent) -> str:
        """The record an event is about, by name: 'Little Owls (URN EY123456)'."""
        return self.of(event.entity_type, event.entity_id, say_deleted=event.action != "delete")

    def changes(self, event: AuditEvent) -> list[tuple[str, str]]:
        """Each field an event touched, with what happened to it: 'old → new', or the value a
        record was created with or held when deleted (those it had); a reference to another
        record by that record's name."""
        references = _references()
        lines = []
        for column, change in sorted((event.changes or {}).items()):
            if column == "id":  # the record itself, named beside the action
                continue
            if event.action != "update" and change in (None, "", []):
                continue
            table = references.get((event.entity_type, column))
            name = column.removesuffix("_id" if table else "_dt").removesuffix("_hash")
            label = name.replace("_", " ").capitalize()
            if event.action == "update" and isinstance(change, list) and len(change) == 2:
                old, new = (self._value(table, value) for value in change)
                lines.append((label, f"{old} → {new}"))
            else:
                lines.append((label, self._value(table, change)))
        return lines

    def _value(self, table: str | None, value: Any) -> str:
        """A value as people read it: another record's id (``table`` its kind) by its name."""
        if table is not None and isinstance(value, int) and not isinstance(value, bool):
            return self.of(table, value)
        return _readable(value)


def _readable(value) -> str:
    if value is None or value == "":
        return "(none)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(_readable(v) for v in value) or "(none)"
    if isinstance(value, str) and ISO_MOMENT.match(value):
        moment = datetime.fromisoformat(value)
        if len(value) == 10:
            return long_date(moment.date())
        return london_datetime(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
    return str(value)
