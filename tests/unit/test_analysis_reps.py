"""Rep counter driven by synthetic angle sequences: noise, gaps, partial, slow/fast reps."""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Iterable

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from media.analysis.events import RepAbandoned, RepCompleted, RepEvent, RepPhase, RepStarted
from media.analysis.library import RepSpec, default_library
from media.analysis.reps import RepCounter

SQUAT = default_library().get("squat").reps
RAISE = default_library().get("shoulder_abduction").reps


def squat_wave(
    rep_s: float,
    reps: int,
    fps: float,
    top: float = 175.0,
    bottom: float = 90.0,
    pause_s: float = 1.0,
) -> list[tuple[float, float]]:
    """Angle samples: stand, then ``reps`` cosine-shaped squats each followed by a pause."""
    samples, t = [], 0.0
    period = rep_s + pause_s
    total = pause_s + reps * period
    while t <= total + 1e-9:
        phase = t - pause_s
        angle = top
        if phase >= 0 and phase % period < rep_s:
            x = (phase % period) / rep_s
            angle = top - (top - bottom) * (1 - math.cos(2 * math.pi * x)) / 2
        samples.append((round(t, 4), angle))
        t += 1.0 / fps
    return samples


def run(
    spec: RepSpec, samples: Iterable[tuple[float, float | None]]
) -> tuple[RepCounter, list[RepEvent]]:
    counter = RepCounter(spec)
    events: list[RepEvent] = []
    for t, angle in samples:
        events.extend(counter.update(t, angle))
    return counter, events


def completed(events: list[RepEvent]) -> list[RepCompleted]:
    return [e for e in events if isinstance(e, RepCompleted)]


def test_clean_reps_are_counted_with_range_and_tempo() -> None:
    counter, events = run(SQUAT, squat_wave(rep_s=2.0, reps=3, fps=15))
    reps = completed(events)
    assert counter.count == 3
    assert [r.index for r in reps] == [1, 2, 3]
    assert [type(e) for e in events].count(RepStarted) == 3
    for rep in reps:
        assert 88 <= rep.min_angle <= 96
        assert rep.max_angle >= 155
        # Start and end are where the angle leaves and re-enters the rest zone.
        assert 1.1 <= rep.end_s - rep.start_s <= 2.1
        assert abs(rep.down_s - rep.up_s) <= 0.3
        assert rep.down_s > 0
        assert rep.up_s > 0


def test_noise_and_spikes_do_not_add_reps() -> None:
    rng = random.Random(7)
    noisy: list[tuple[float, float | None]] = []
    for t, angle in squat_wave(rep_s=2.0, reps=4, fps=30):
        value = angle + rng.gauss(0, 3.0)
        if rng.random() < 0.05:
            value = rng.uniform(60, 180)  # a landmark glitch for one frame
        noisy.append((t, value))
    counter, _ = run(SQUAT, noisy)
    assert counter.count == 4


def test_jitter_around_a_threshold_is_absorbed_by_hysteresis() -> None:
    samples = [(i / 30, 155.0 + (3 if i % 2 else -3)) for i in range(300)]
    counter, events = run(SQUAT, samples)
    assert counter.count == 0
    assert not [e for e in events if isinstance(e, RepAbandoned)]


def test_dropped_frames_keep_the_count() -> None:
    rng = random.Random(3)
    samples: list[tuple[float, float | None]] = [
        (t, None if rng.random() < 0.35 else a) for t, a in squat_wave(2.0, 5, 15)
    ]
    counter, _ = run(SQUAT, samples)
    assert counter.count == 5


def test_partial_rep_is_not_counted_but_reported() -> None:
    samples = squat_wave(rep_s=2.0, reps=1, fps=15, bottom=135.0)
    counter, events = run(SQUAT, samples)
    assert counter.count == 0
    partial = [e for e in events if isinstance(e, RepAbandoned)]
    assert [p.reason for p in partial] == ["partial"]
    assert 133 <= partial[0].min_angle <= 140


def test_slow_reps_are_counted() -> None:
    counter, _ = run(SQUAT, squat_wave(rep_s=12.0, reps=2, fps=10))
    assert counter.count == 2


def test_fast_reps_are_counted_at_high_and_low_frame_rates() -> None:
    fast, _ = run(SQUAT, squat_wave(rep_s=1.0, reps=5, fps=30, pause_s=0.4))
    low_rate, _ = run(SQUAT, squat_wave(rep_s=2.0, reps=3, fps=5))
    assert fast.count == 5
    assert low_rate.count == 3


def test_unfinished_final_descent_does_not_count() -> None:
    samples = squat_wave(rep_s=2.0, reps=3, fps=15)
    cut = [s for s in samples if s[0] <= 1.0 + 2 * 3.0 + 1.0]  # stop at the third bottom
    counter = RepCounter(SQUAT)
    for t, angle in cut:
        counter.update(t, angle)
    assert counter.count == 2
    assert counter.in_rep
    assert [e.reason for e in counter.finish(cut[-1][0]) if isinstance(e, RepAbandoned)] == [
        "unfinished"
    ]
    assert counter.count == 2


def test_leaving_between_reps_neither_adds_nor_loses() -> None:
    first = squat_wave(2.0, 2, 15)
    end = first[-1][0]
    away = [(end + i / 15, None) for i in range(1, 60)]  # four seconds out of frame
    second = [(end + 4.0 + t, a) for t, a in squat_wave(2.0, 2, 15)]
    counter, _ = run(SQUAT, [*first, *away, *second])
    assert counter.count == 4


def test_leaving_mid_rep_drops_that_rep_only() -> None:
    first = squat_wave(2.0, 1, 15)
    end = first[-1][0]
    descent = [(end + i / 15, 175 - 6 * i) for i in range(1, 15)]  # down to 91 degrees
    away_start = descent[-1][0]
    away = [(away_start + i / 15, None) for i in range(1, 45)]
    # Comes back crouched and stands up: that must not complete a rep.
    back = away[-1][0]
    rise = [(back + i / 15, 95 + 6 * i) for i in range(1, 14)]
    stand = [(rise[-1][0] + i / 15, 175.0) for i in range(1, 20)]
    counter, events = run(SQUAT, [*first, *descent, *away, *rise, *stand])
    assert counter.count == 1
    assert any(isinstance(e, RepAbandoned) and e.reason == "lost_track" for e in events)
    assert counter.phase is RepPhase.REST


def test_short_gap_mid_rep_is_bridged() -> None:
    samples: list[tuple[float, float | None]] = list(squat_wave(2.0, 2, 15))
    # A 0.5 s dropout near the bottom of the first rep.
    samples = [(t, None if 1.8 <= t <= 2.3 else a) for t, a in samples]
    counter, _ = run(SQUAT, samples)
    assert counter.count == 2


def test_increasing_exercise_counts_arm_raises() -> None:
    samples = [(t, 195.0 - a) for t, a in squat_wave(2.0, 3, 15, top=175, bottom=95)]
    counter, events = run(RAISE, samples)
    assert counter.count == 3
    assert all(r.max_angle >= 95 for r in completed(events))


def test_never_at_rest_never_counts() -> None:
    samples = [(i / 15, 100.0 + 30 * math.sin(i / 5)) for i in range(200)]
    counter, _ = run(SQUAT, samples)
    assert counter.count == 0
    assert counter.phase is RepPhase.IDLE


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    fps=st.floats(min_value=5.0, max_value=60.0),
    rep_s=st.floats(min_value=1.0, max_value=8.0),
    reps=st.integers(min_value=1, max_value=5),
    noise=st.floats(min_value=0.0, max_value=3.0),
    dropout=st.floats(min_value=0.0, max_value=0.3),
    seed=st.integers(min_value=0, max_value=2**16),
)
def test_any_reasonable_recording_counts_exactly(
    fps: float, rep_s: float, reps: int, noise: float, dropout: float, seed: int
) -> None:
    assume(rep_s * fps >= 15)  # enough samples per rep to see both zones
    rng = random.Random(seed)
    samples: list[tuple[float, float | None]] = [
        (t, None if rng.random() < dropout else a + rng.gauss(0, noise))
        for t, a in squat_wave(rep_s, reps, fps)
    ]
    seen = [t for t, a in samples if a is not None]
    # Gaps longer than max_gap_s drop a rep on purpose (the person may have left).
    assume(max(b - a for a, b in itertools.pairwise(seen)) <= SQUAT.max_gap_s)
    # The session goes on after the last rep: a moment of clean standing confirms it.
    end = samples[-1][0]
    samples += [(end + (i + 1) / fps, 175.0) for i in range(int(fps))]
    counter, _ = run(SQUAT, samples)
    assert counter.count == reps
