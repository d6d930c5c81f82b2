"""Pure ticket edits and transition side effects; the store applies them in a transaction."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sessions.exceptions import ValidationError
from sessions.sla import SlaPolicy
from sessions.store.jsonable import jsonable
from sessions.tickets import Device, Ticket, TicketStatus, Tier

#: Fields update_ticket may change; status goes through transitions, the rest is derived.
EDITABLE_FIELDS = frozenset(
    {"title", "description", "device", "patient", "language", "tier", "targets", "assignee"}
)
_REQUIRED_TEXT = frozenset({"title", "language"})
_OPTIONAL_TEXT = frozenset({"patient", "assignee"})


def edited(
    ticket: Ticket, changes: Mapping[str, Any], policy: SlaPolicy | None
) -> tuple[Ticket, dict[str, dict[str, Any]]]:
    """Return the edited ticket and ``{field: {"old": ..., "new": ...}}`` of what changed."""
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise ValidationError(
            f"fields that cannot be edited: {sorted(unknown)}", fields=sorted(unknown)
        )
    values = {name: _normalise(name, value) for name, value in changes.items()}
    after = dataclasses.replace(ticket, **values)
    diff = {
        name: {"old": jsonable(getattr(ticket, name)), "new": jsonable(getattr(after, name))}
        for name in values
        if getattr(ticket, name) != getattr(after, name)
    }
    if "tier" in diff:
        after = _retiered(after, policy)
        diff["deadlines"] = {"old": jsonable(ticket.deadlines), "new": jsonable(after.deadlines)}
    return after, diff


def _retiered(ticket: Ticket, policy: SlaPolicy | None) -> Ticket:
    """Recompute the deadlines for a new tier, from the original opening time."""
    if policy is None:
        raise ValidationError("changing the tier needs the SLA policy", field="tier")
    deadlines = policy.deadlines_for(ticket.tier, ticket.created_at)
    if ticket.resolved_at is not None:
        deadlines.callback_due_at = policy.callback_due(ticket.tier, ticket.resolved_at)
    return dataclasses.replace(ticket, deadlines=deadlines)


def _normalise(name: str, value: Any) -> Any:
    """Check one edited value and give it its domain type."""
    if name == "tier":
        try:
            return Tier(value)
        except ValueError as exc:
            raise ValidationError(f"unknown tier {value!r}", field="tier") from exc
    if name == "device":
        return _device(value)
    if name == "targets":
        if not isinstance(value, Mapping):
            raise ValidationError("targets must be an object", field="targets")
        return jsonable(dict(value))
    if name in _REQUIRED_TEXT and (not isinstance(value, str) or not value.strip()):
        raise ValidationError(f"{name} must be a non-empty string", field=name)
    if name in _OPTIONAL_TEXT and value is not None and not isinstance(value, str):
        raise ValidationError(f"{name} must be a string or null", field=name)
    if name == "description" and not isinstance(value, str):
        raise ValidationError("description must be a string", field=name)
    return value


def _device(value: Any) -> Device | None:
    """A Device from a Device, a ``{model, serial}`` mapping or None."""
    if value is None or isinstance(value, Device):
        return value
    if isinstance(value, Mapping) and set(value) == {"model", "serial"}:
        return Device(model=str(value["model"]), serial=str(value["serial"]))
    raise ValidationError("device must have exactly model and serial", field="device")


def transitioned(ticket: Ticket, target: TicketStatus, now: datetime, policy: SlaPolicy) -> Ticket:
    """The ticket after moving to ``target`` at ``now`` (the move was already checked)."""
    changes: dict[str, Any] = {"status": target, "updated_at": now}
    responding = target in (TicketStatus.ASSIGNED, TicketStatus.IN_SESSION)
    if responding and ticket.first_response_at is None:
        changes["first_response_at"] = now
    if target is TicketStatus.RESOLVED:
        changes["resolved_at"] = now
        changes["deadlines"] = dataclasses.replace(
            ticket.deadlines, callback_due_at=policy.callback_due(ticket.tier, now)
        )
    elif target is TicketStatus.CALLBACK_DONE:
        changes["callback_done_at"] = now
    elif target in (TicketStatus.CLOSED, TicketStatus.CANCELLED):
        changes["closed_at"] = now
    elif target is TicketStatus.OPEN and ticket.resolved_at is not None:
        # Reopened: the resolution clock runs again against its original deadline.
        changes.update(resolved_at=None, callback_done_at=None)
        changes["deadlines"] = dataclasses.replace(ticket.deadlines, callback_due_at=None)
    return dataclasses.replace(ticket, **changes)
