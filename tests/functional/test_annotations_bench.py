"""The annotations benchmark runs end to end and reports its figures (not a timed test)."""

from __future__ import annotations

import argparse

from annotations import bench


def arguments(*argv: str) -> argparse.Namespace:
    """Parse the benchmark's options."""
    parser = argparse.ArgumentParser()
    bench.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_defaults_are_the_issues_setting() -> None:
    args = arguments()
    assert (args.participants, args.kind, args.url, args.target) == (20, "stroke", None, "product")


async def test_every_participant_receives_every_stroke() -> None:
    args = arguments(
        "--target",
        "loopback",
        "--participants",
        "4",
        "--messages",
        "15",
        "--warmup",
        "2",
        "--interval-ms",
        "1",
    )
    figures = await bench.run(args)
    assert figures["deliveries"] == 60
    assert figures["deliveries_lost"] == 0
    assert figures["fanout_p50_ms"] <= figures["fanout_p95_ms"] <= figures["fanout_max_ms"]
    assert figures["event_bytes"] > 50 * 2 * 4  # 50 points of two numbers each


async def test_pointer_is_not_echoed_to_the_drawer() -> None:
    args = arguments(
        "--target",
        "loopback",
        "--participants",
        "3",
        "--messages",
        "5",
        "--kind",
        "pointer",
        "--interval-ms",
        "1",
    )
    figures = await bench.run(args)
    assert figures["deliveries"] == 10
    assert figures["deliveries_lost"] == 0


async def test_product_target_measures_through_the_signaling_route() -> None:
    args = arguments("--participants", "3", "--messages", "5", "--warmup", "1")
    args.interval_ms = 60.0
    figures = await bench.run(args)
    assert figures["target"] == "product"
    assert figures["deliveries"] == 15
    assert figures["deliveries_lost"] == 0
    assert "server_handle_p50_ms" not in figures  # the product's internals are not timed


async def test_product_does_not_echo_the_pointer_to_its_sender() -> None:
    args = arguments("--participants", "3", "--messages", "5", "--warmup", "1", "--kind", "pointer")
    args.interval_ms = 30.0
    figures = await bench.run(args)
    assert figures["deliveries"] == 10
    assert figures["deliveries_lost"] == 0


async def test_tracking_mode_reports_cost_and_keeps_every_anchor_in_view() -> None:
    figures = await bench.run(arguments("--mode", "tracking", "--frames", "6"))
    assert figures["track_640x480_5anchors_visible_ratio"] == 1.0
    assert figures["track_1280x720_1anchors_visible_ratio"] == 1.0
    assert 0 < figures["track_640x480_1anchors_p50_ms"] <= figures["track_640x480_1anchors_p95_ms"]


async def test_render_mode_reports_cost_and_size() -> None:
    figures = await bench.run(arguments("--mode", "render"))
    assert figures["render_png_1280x720_20marks_p50_ms"] > 0
    assert figures["render_png_1280x720_20marks_kbytes"] > 10
