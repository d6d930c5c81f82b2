"""Routing: matching, deadline order, offers with timeouts, manual assignment, fairness."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sessions.exceptions import InvalidStateError, NotFoundError, PermissionDeniedError
from sessions.servicedesk.catalogue import DEFAULT_CATALOGUE
from sessions.servicedesk.events import OfferClosed, OfferMade, TicketAssigned
from sessions.servicedesk.exceptions import OfferExpiredError
from sessions.servicedesk.experts import ExpertProfile
from sessions.servicedesk.offers import OfferState
from sessions.servicedesk.presence import Presence
from sessions.servicedesk.routing import Router
from sessions.tickets import TicketKind
from tests.unit.test_servicedesk_support import T0, expert, ticket

pytestmark = pytest.mark.servicedesk

SKILLS = ["fes_cycle", "RehaMove 3", "motor_trainer", "exercise_therapy", "ventilator"]
MODELS = [None, "RehaMove 3", "MOTOmed viva2", "Philips V60"]
LANGS = ["en", "zh-CN", "de"]


def offers_in(events: Sequence[object]) -> list[OfferMade]:
    """The OfferMade events of a batch."""
    return [e for e in events if isinstance(e, OfferMade)]


def online_router(*experts: ExpertProfile) -> Router:
    """A router with the given experts, all online."""
    router = Router(DEFAULT_CATALOGUE, offer_timeout=timedelta(seconds=30))
    for profile in experts:
        router.upsert_expert(profile)
        router.set_presence(profile.identity, Presence.ONLINE, T0)
    return router


expert_specs = st.lists(
    st.tuples(
        st.sets(st.sampled_from(SKILLS), max_size=3),
        st.sets(st.sampled_from(LANGS), min_size=1, max_size=2),
        st.sampled_from(list(Presence)),
        st.integers(1, 3),
        st.integers(0, 3),
    ),
    min_size=1,
    max_size=6,
)
ticket_specs = st.lists(
    st.tuples(
        st.integers(1, 600),
        st.sampled_from(LANGS),
        st.sampled_from(MODELS),
        st.booleans(),
    ),
    min_size=1,
    max_size=8,
)


def build(
    experts_spec: list[tuple[set[str], set[str], Presence, int, int]],
    tickets_spec: list[tuple[int, str, str | None, bool]],
) -> Router:
    """A router populated from generated specs (existing load given as held tickets)."""
    router = Router(DEFAULT_CATALOGUE)
    for i, (skills, langs, presence, capacity, held) in enumerate(experts_spec):
        profile = expert(f"e{i}", skills=tuple(skills), languages=tuple(langs), capacity=capacity)
        router.upsert_expert(profile)
        router.set_presence(profile.identity, presence, T0)
        router.restore_assignments(profile.identity, [f"held-{i}-{k}" for k in range(held)])
    for i, (minutes, lang, model, exercise) in enumerate(tickets_spec):
        kind = TicketKind.GUIDED_EXERCISE if exercise else TicketKind.DEVICE_FAULT
        router.enqueue(
            ticket(
                f"t{i}", due_in=timedelta(minutes=minutes), language=lang, model=model, kind=kind
            ),
            T0,
        )
    return router


@settings(max_examples=300, deadline=None)
@given(expert_specs, ticket_specs)
def test_never_offered_to_offline_full_or_unskilled_expert(
    experts_spec: list[tuple[set[str], set[str], Presence, int, int]],
    tickets_spec: list[tuple[int, str, str | None, bool]],
) -> None:
    """Every offer goes to an online expert below capacity who has the skill and language."""
    router = build(experts_spec, tickets_spec)
    capacity_before = {e.identity: e.capacity - router.load(e.identity) for e in router.experts()}
    entries = {entry.ticket_id: entry for entry in router.queue()}
    offers = offers_in(router.step(T0))
    per_expert: dict[str, int] = {}
    for made in offers:
        who = router.expert(made.offer.expert)
        assert router.presence.get(who.identity) is Presence.ONLINE
        assert entries[made.offer.ticket_id].fits(who)
        per_expert[who.identity] = per_expert.get(who.identity, 0) + 1
    for identity, count in per_expert.items():
        assert count <= capacity_before[identity]


@settings(max_examples=300, deadline=None)
@given(expert_specs, ticket_specs)
def test_earlier_deadline_is_served_first(
    experts_spec: list[tuple[set[str], set[str], Presence, int, int]],
    tickets_spec: list[tuple[int, str, str | None, bool]],
) -> None:
    """A ticket left waiting never lost its expert to a ticket due later."""
    router = build(experts_spec, tickets_spec)
    entries = router.queue()
    offered = {m.offer.ticket_id: m.offer.expert for m in offers_in(router.step(T0))}
    for waiting in (e for e in entries if e.ticket_id not in offered):
        for later in (e for e in entries if e.ticket_id in offered):
            if later.sort_key() > waiting.sort_key():
                taker = router.expert(offered[later.ticket_id])
                assert not waiting.fits(taker), (waiting.ticket_id, later.ticket_id)
        # and nobody who could have taken it is left with room
        for profile in router.experts():
            assert not router.eligible(waiting, profile, T0)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(1, 10_000), min_size=1, max_size=10, unique=True), st.integers(1, 5))
def test_identical_tickets_are_offered_in_deadline_order(minutes: list[int], capacity: int) -> None:
    """With one expert, the tickets offered are exactly the earliest due."""
    router = online_router(expert("solo", capacity=capacity))
    for i, m in enumerate(minutes):
        router.enqueue(ticket(f"t{i}", due_in=timedelta(minutes=m)), T0)
    offered = [m.offer.ticket_id for m in offers_in(router.step(T0))]
    by_due = [f"t{i}" for i, _ in sorted(enumerate(minutes), key=lambda p: p[1])]
    assert offered == by_due[:capacity]


def test_unskilled_and_wrong_language_experts_get_nothing() -> None:
    """A ventilator ticket in Chinese waits for a Chinese-speaking ventilator expert."""
    router = online_router(
        expert("fes", skills=("fes_cycle",), languages=("zh-CN",)),
        expert("vent-en", skills=("ventilator",), languages=("en",)),
    )
    router.enqueue(ticket("t1", model="Philips V60", language="zh-CN"), T0)
    assert router.step(T0) == []
    router.upsert_expert(expert("vent-zh", skills=("ventilator",), languages=("zh-CN", "en")))
    router.set_presence("vent-zh", Presence.ONLINE, T0)
    [made] = offers_in(router.step(T0))
    assert made.offer.expert == "vent-zh"


def test_exercise_ticket_needs_exercise_therapy() -> None:
    """Guided exercise on a device needs both the device skill and exercise therapy."""
    router = online_router(
        expert("device-only", skills=("fes_cycle",)),
        expert("therapist", skills=("fes_cycle", "exercise_therapy")),
    )
    router.enqueue(ticket("t1", kind=TicketKind.GUIDED_EXERCISE), T0)
    [made] = offers_in(router.step(T0))
    assert made.offer.expert == "therapist"


def test_offer_times_out_then_goes_to_the_next_expert() -> None:
    """An unanswered offer lapses and the next best expert gets it; late answer is refused."""
    router = online_router(expert("a"), expert("b"))
    router.enqueue(ticket("t1"), T0)
    [first] = offers_in(router.step(T0))
    assert router.next_wakeup() == T0 + timedelta(seconds=30)
    assert router.step(T0 + timedelta(seconds=29)) == []
    events = router.step(T0 + timedelta(seconds=30))
    closed = [e for e in events if isinstance(e, OfferClosed)]
    assert [c.offer.state for c in closed] == [OfferState.EXPIRED]
    [second] = offers_in(events)
    assert second.offer.expert != first.offer.expert
    with pytest.raises(OfferExpiredError, match="expired"):
        router.accept(first.offer.id, first.offer.expert, T0 + timedelta(seconds=31))


def test_accept_after_timeout_without_a_step_is_refused() -> None:
    """The expiry is checked at answer time, not only when the router next steps."""
    router = online_router(expert("a"), expert("b"))
    router.enqueue(ticket("t1"), T0)
    [made] = offers_in(router.step(T0))
    with pytest.raises(OfferExpiredError) as info:
        router.accept(made.offer.id, made.offer.expert, T0 + timedelta(minutes=5))
    assert info.value.code == "offer_expired"
    [again] = offers_in(router.step(T0 + timedelta(minutes=5)))
    assert again.offer.expert != made.offer.expert


def test_accept_assigns_and_counts_against_capacity() -> None:
    """Accepting assigns; the expert at capacity receives no more offers."""
    router = online_router(expert("a", capacity=1))
    router.enqueue(ticket("t1", due_in=timedelta(minutes=5)), T0)
    router.enqueue(ticket("t2", due_in=timedelta(minutes=10)), T0)
    [made] = offers_in(router.step(T0))
    assert made.offer.ticket_id == "t1"
    assigned = router.accept(made.offer.id, "a", T0 + timedelta(seconds=5))
    assert assigned == TicketAssigned("t1", "a", "a", T0 + timedelta(seconds=5), made.offer.id)
    assert router.step(T0 + timedelta(seconds=6)) == []
    router.release("a", "t1", T0 + timedelta(minutes=1))
    [nxt] = offers_in(router.step(T0 + timedelta(minutes=1)))
    assert nxt.offer.ticket_id == "t2"


def test_decline_moves_on_and_answers_are_checked() -> None:
    """Decline goes to the next expert; wrong expert, unknown offer, double answer refused."""
    router = online_router(expert("a"), expert("b"))
    router.enqueue(ticket("t1"), T0)
    [made] = offers_in(router.step(T0))
    other = "b" if made.offer.expert == "a" else "a"
    with pytest.raises(PermissionDeniedError):
        router.accept(made.offer.id, other, T0)
    with pytest.raises(NotFoundError):
        router.accept("ofr_nope", other, T0)
    [nxt] = offers_in(router.decline(made.offer.id, made.offer.expert, T0))
    assert nxt.offer.expert == other
    with pytest.raises(InvalidStateError, match="declined"):
        router.accept(made.offer.id, made.offer.expert, T0)


def test_everyone_declined_leaves_ticket_queued() -> None:
    """When every able expert declined, the ticket waits for a supervisor or a new expert."""
    router = online_router(expert("a"))
    router.enqueue(ticket("t1"), T0)
    [made] = offers_in(router.step(T0))
    assert offers_in(router.decline(made.offer.id, "a", T0)) == []
    assert [e.ticket_id for e in router.queue()] == ["t1"]


def test_supervisor_assigns_by_hand_and_withdraws_the_offer() -> None:
    """Manual assignment overrides the offer out for the ticket."""
    router = online_router(expert("a"), expert("b"))
    router.enqueue(ticket("t1"), T0)
    [made] = offers_in(router.step(T0))
    other = "b" if made.offer.expert == "a" else "a"
    events = router.assign("t1", other, "sup-1", T0)
    assert isinstance(events[0], OfferClosed)
    assert events[0].offer.state is OfferState.WITHDRAWN
    assert events[1] == TicketAssigned("t1", other, "sup-1", T0, None)
    assert router.queue() == []
    with pytest.raises(OfferExpiredError):
        router.accept(made.offer.id, made.offer.expert, T0)
    with pytest.raises(NotFoundError):
        router.assign("t1", "ghost", "sup-1", T0)


def test_going_away_withdraws_pending_offers() -> None:
    """An expert who leaves loses their offer to the next one at once."""
    router = online_router(expert("a"), expert("b"))
    router.enqueue(ticket("t1"), T0)
    [made] = offers_in(router.step(T0))
    [closed] = router.set_presence(made.offer.expert, Presence.AWAY, T0)
    assert isinstance(closed, OfferClosed)
    [nxt] = offers_in(router.step(T0))
    assert nxt.offer.expert != made.offer.expert


def test_load_spread_least_loaded_then_longest_idle() -> None:
    """Least loaded first; among equals the one idle longest."""
    router = online_router(
        expert("a", capacity=3), expert("b", capacity=3), expert("c", capacity=3)
    )
    router.restore_assignments("a", ["x1"])
    router.release("b", "none", T0)  # no effect: b held nothing
    router.restore_assignments("b", ["y1"])
    router.release("b", "y1", T0 - timedelta(hours=1))
    router.restore_assignments("c", ["z1"])
    router.release("c", "z1", T0 - timedelta(hours=3))
    router.enqueue(ticket("t1"), T0)
    [made] = offers_in(router.step(T0))
    assert made.offer.expert == "c"  # a holds one; b and c free, c idle longer
    router.enqueue(ticket("t2", due_in=timedelta(hours=2)), T0)
    [made2] = offers_in(router.step(T0))
    assert made2.offer.expert == "b"


def test_off_duty_expert_gets_nothing_unless_on_call() -> None:
    """Outside working hours only the on-call rota receives offers."""
    from datetime import time

    from sessions.servicedesk.experts import OnCallShift, make_profile

    night = T0.replace(hour=23)
    office = make_profile(
        DEFAULT_CATALOGUE, identity="day", name="Day", skills=["fes_cycle"], languages=["en"]
    )
    rota = make_profile(
        DEFAULT_CATALOGUE,
        identity="night",
        name="Night",
        skills=["fes_cycle"],
        languages=["en"],
        working_hours={0: [(time(9), time(10))]},
        on_call=[OnCallShift(night - timedelta(hours=1), night + timedelta(hours=8))],
    )
    router = Router(DEFAULT_CATALOGUE)
    for profile in (office, rota):
        router.upsert_expert(profile)
        router.set_presence(profile.identity, Presence.ONLINE, night)
    router.enqueue(ticket("t1"), night)
    [made] = offers_in(router.step(night))
    assert made.offer.expert == "night"


operations = st.lists(
    st.tuples(
        st.sampled_from(["step", "accept", "decline", "wait", "away", "online", "release"]),
        st.integers(0, 5),
    ),
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(operations)
def test_offers_never_exceed_capacity_over_any_sequence(ops: list[tuple[str, int]]) -> None:
    """Whatever experts do, pending offers plus held tickets never exceed capacity."""
    router = online_router(expert("a", capacity=1), expert("b", capacity=2), expert("c"))
    for i in range(6):
        router.enqueue(ticket(f"t{i}", due_in=timedelta(minutes=10 + i)), T0)
    now = T0
    names = ["a", "b", "c"]
    held: dict[str, set[str]] = {name: set() for name in names}
    for op, n in ops:
        pending = [o for o in (router.pending_offer(f"t{i}") for i in range(6)) if o]
        if op == "step":
            router.step(now)
        elif op in ("accept", "decline") and pending:
            offer = pending[n % len(pending)]
            with contextlib.suppress(OfferExpiredError):  # answered after its timeout
                if op == "accept":
                    router.accept(offer.id, offer.expert, now)
                    held[offer.expert].add(offer.ticket_id)
                else:
                    router.decline(offer.id, offer.expert, now)
        elif op == "wait":
            now += timedelta(seconds=31)
        elif op in ("away", "online"):
            state = Presence.AWAY if op == "away" else Presence.ONLINE
            router.set_presence(names[n % 3], state, now)
        elif op == "release":
            router.release(names[n % 3], f"t{n}", now)
            held[names[n % 3]].discard(f"t{n}")
        mine = [o for o in (router.pending_offer(f"t{i}") for i in range(6)) if o]
        for profile in router.experts():
            counted = sum(1 for o in mine if o.expert == profile.identity)
            load = router.load(profile.identity)
            assert load == len(held[profile.identity]) + counted
            assert counted == 0 or load <= profile.capacity
