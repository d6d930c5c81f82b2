"""``teleguide bench recording`` returns its figures (speed itself is not asserted here)."""

from __future__ import annotations

import argparse

from media.recording import bench


async def test_bench_reports_both_paths_side_by_side() -> None:
    parser = argparse.ArgumentParser()
    bench.add_arguments(parser)
    figures = await bench.run(parser.parse_args(["--seconds", "0.5", "--runs", "1"]))
    assert set(figures) >= {
        "remux_cpu_pct_of_core_per_stream_median",
        "transcode_cpu_pct_of_core_per_stream_median",
        "transcode_to_remux_ratio",
        "remux_within_target",
    }
    assert figures["runs"] == 1
    assert figures["source"] == "synthetic"
    assert figures["transcode_cpu_pct_of_core_per_stream_median"] > 0
