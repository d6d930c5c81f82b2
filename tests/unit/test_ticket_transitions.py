"""Every ticket transition, allowed and refused, generated from the enum and the table."""

from __future__ import annotations

import itertools

import pytest

from sessions.exceptions import InvalidTransitionError
from sessions.tickets import ACTIVE_STATUSES, TRANSITIONS, TicketStatus, check_transition

PAIRS = list(itertools.product(TicketStatus, TicketStatus))
ALLOWED = [(a, b) for a, b in PAIRS if b in TRANSITIONS[a]]
REFUSED = [(a, b) for a, b in PAIRS if b not in TRANSITIONS[a]]


def test_every_status_has_a_row() -> None:
    # A status added to the enum without a row would raise KeyError at run time.
    assert set(TRANSITIONS) == set(TicketStatus)


@pytest.mark.parametrize(("current", "target"), ALLOWED, ids=lambda s: s.value)
def test_allowed(current: TicketStatus, target: TicketStatus) -> None:
    check_transition(current, target)


@pytest.mark.parametrize(("current", "target"), REFUSED, ids=lambda s: s.value)
def test_refused_names_the_current_status(current: TicketStatus, target: TicketStatus) -> None:
    with pytest.raises(InvalidTransitionError) as info:
        check_transition(current, target)
    assert info.value.current == current.value
    assert info.value.target == target.value
    assert current.value in info.value.message


def test_no_status_moves_to_itself() -> None:
    assert all(a != b for a, b in ALLOWED)


def test_final_statuses_are_final_and_every_status_reaches_one() -> None:
    final = {s for s in TicketStatus if not TRANSITIONS[s]}
    assert final == {TicketStatus.CLOSED, TicketStatus.CANCELLED}
    for status in TicketStatus:
        seen, frontier = {status}, [status]
        while frontier:
            for nxt in TRANSITIONS[frontier.pop()] - seen:
                seen.add(nxt)
                frontier.append(nxt)
        assert seen & final, f"{status} can never be closed"
    assert not ACTIVE_STATUSES & final
