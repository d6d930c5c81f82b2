"""Who may see and change what: the authorization rules of tickets, in one place.

Staff (expert, trainer, supervisor, admin) work the desk and see every ticket. Patients and
technicians see the tickets they are party to (requester or patient) and nothing else; a
ticket they may not see answers 404, so ids cannot be probed.
"""

from __future__ import annotations

from sessions.exceptions import NotFoundError, PermissionDeniedError
from sessions.tickets import Ticket, TicketStatus
from signaling.auth import Principal, Role

ASSIGNERS = frozenset({Role.SUPERVISOR, Role.ADMIN})
CLIENT_ROLES = frozenset({Role.PATIENT, Role.TECHNICIAN})


def is_party(principal: Principal, ticket: Ticket) -> bool:
    """The caller opened the ticket, is its patient or owns it."""
    return principal.identity in {ticket.requester, ticket.patient, ticket.assignee}


def require_view(principal: Principal, ticket: Ticket) -> None:
    """Raise NotFoundError unless the caller may see the ticket."""
    if not (principal.is_staff or is_party(principal, ticket)):
        raise NotFoundError(f"no ticket {ticket.id}")


def require_create(principal: Principal, requester: str | None) -> str:
    """Return the requester the ticket is opened for; clients open tickets only for themselves."""
    if requester is None or requester == principal.identity:
        return principal.identity
    principal.require(principal.is_staff, "open tickets on behalf of others")
    return requester


def require_update(principal: Principal, ticket: Ticket, assignee_change: str | None) -> None:
    """Staff edit tickets; only supervisors and admins hand them to someone else."""
    require_view(principal, ticket)
    principal.require(principal.is_staff, "edit tickets")
    if assignee_change is not None and assignee_change != principal.identity:
        principal.require(principal.role in ASSIGNERS, "assign tickets to others")


def require_transition(principal: Principal, ticket: Ticket, target: TicketStatus) -> None:
    """Staff move tickets; a requester may only cancel their own."""
    require_view(principal, ticket)
    if principal.is_staff:
        return
    allowed = target is TicketStatus.CANCELLED and ticket.requester == principal.identity
    if not allowed:
        raise PermissionDeniedError(
            f"{principal.role.value} {principal.identity!r} may not move tickets to {target.value}"
        )
