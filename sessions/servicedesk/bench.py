"""``teleguide bench servicedesk``: routing step time and SLA scheduler pass time.

Routing: a queue of tickets and a pool of experts with mixed skills, languages and
capacity; each round releases a few tickets and makes new offers, the way a busy desk
does. Scheduler: one pass over every watched ticket of a SQLite store (the scan the
scheduler repeats at each wake-up), without and with alerts to act on.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sessions.calendar import BusinessCalendar
from sessions.clock import ManualClock
from sessions.servicedesk.catalogue import DEFAULT_CATALOGUE
from sessions.servicedesk.events import OfferMade
from sessions.servicedesk.experts import make_profile, office_hours
from sessions.servicedesk.presence import Presence
from sessions.servicedesk.routing import Router
from sessions.servicedesk.scheduler import SlaScheduler
from sessions.sla import SlaPolicy
from sessions.store import Store
from sessions.tickets import Device, SlaDeadlines, Ticket, TicketKind, TicketStatus, Tier

_T0 = datetime(2026, 3, 4, 10, tzinfo=UTC)
_MODELS = sorted(DEFAULT_CATALOGUE.models)
_LANGS = ["en", "zh-CN", "de"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the benchmark's options to ``parser``."""
    parser.add_argument("--experts", type=int, default=200, help="experts in the pool")
    parser.add_argument("--tickets", type=int, default=2000, help="tickets in the queue")
    parser.add_argument("--rounds", type=int, default=200, help="routing rounds measured")
    parser.add_argument("--stored", type=int, default=500, help="tickets in the store")


def _percentiles(samples: list[float], name: str) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        f"{name}_p50_ms": round(statistics.median(ordered), 3),
        f"{name}_p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 3),
        f"{name}_max_ms": round(ordered[-1], 3),
    }


def _router(experts: int, tickets: int, rng: random.Random) -> Router:
    router = Router(DEFAULT_CATALOGUE)
    for i in range(experts):
        profile = make_profile(
            DEFAULT_CATALOGUE,
            identity=f"e{i}",
            name=f"E{i}",
            skills=rng.sample(_MODELS, 2),
            languages=rng.sample(_LANGS, rng.randint(1, 2)),
            working_hours=office_hours(range(7)),
            capacity=rng.randint(1, 4),
        )
        router.upsert_expert(profile)
        router.set_presence(profile.identity, rng.choice(list(Presence)), _T0)
    for i in range(tickets):
        due = _T0 + timedelta(minutes=rng.randint(1, 600))
        ticket = Ticket(
            f"t{i}", TicketKind.DEVICE_FAULT, Tier.ROUTINE, TicketStatus.OPEN, "x", "r",
            rng.choice(_LANGS), _T0, _T0, SlaDeadlines(due, due + timedelta(hours=8)),
            device=Device(rng.choice(_MODELS), "s"),
        )  # fmt: skip
        router.enqueue(ticket, _T0)
    return router


def bench_routing(experts: int, tickets: int, rounds: int) -> dict[str, Any]:
    """Time ``Router.step`` on a full queue while offers are accepted and released."""
    rng = random.Random(7)
    router = _router(experts, tickets, rng)
    samples: list[float] = []
    offers = 0
    now = _T0
    for _ in range(rounds):
        now += timedelta(seconds=5)
        start = time.perf_counter()
        events = router.step(now)
        samples.append((time.perf_counter() - start) * 1000)
        for event in events:
            if isinstance(event, OfferMade):
                offers += 1
                router.accept(event.offer.id, event.offer.expert, now)
                router.release(event.offer.expert, event.offer.ticket_id, now)
    return {"routing_offers": offers, **_percentiles(samples, "routing_step")}


async def bench_scheduler(stored: int) -> dict[str, Any]:
    """Time one scheduler pass over ``stored`` tickets: quiet, then with breaches to act on."""
    policy = SlaPolicy.from_config({}, BusinessCalendar())
    with tempfile.TemporaryDirectory() as folder:
        store = await Store.open(f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}")
        try:
            await store.migrate()
            for i in range(stored):
                await store.create_ticket(
                    kind=TicketKind.DEVICE_FAULT, tier=Tier.URGENT, title=f"t{i}",
                    requester="r", language="en", actor="bench", now=_T0, policy=policy,
                )  # fmt: skip
            clock = ManualClock(_T0)
            scheduler = SlaScheduler(store, policy, clock)
            quiet = await _timed(scheduler)
            clock.set(_T0 + timedelta(hours=2))
            busy = await _timed(scheduler)
            again = await _timed(scheduler)
        finally:
            await store.close()
    return {
        "scheduler_tickets": stored,
        "scheduler_quiet_pass_ms": quiet[0],
        "scheduler_escalating_pass_ms": busy[0],
        "scheduler_escalations": busy[1],
        "scheduler_repeat_pass_ms": again[0],
        "scheduler_repeat_escalations": again[1],
    }


async def _timed(scheduler: SlaScheduler) -> tuple[float, int]:
    start = time.perf_counter()
    handled = await scheduler.run_once()
    return round((time.perf_counter() - start) * 1000, 1), len(handled)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run both parts and return their figures."""
    figures = bench_routing(args.experts, args.tickets, args.rounds)
    figures.update(await bench_scheduler(args.stored))
    return figures
