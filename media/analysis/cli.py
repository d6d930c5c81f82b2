"""``teleguide analyze VIDEO --exercise NAME``: offline analysis from the command line."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Iterator
from typing import Any

from media.analysis.library import LANGUAGES, default_library
from sessions.exceptions import TeleGuideError

EXIT_OK = 0
EXIT_OUTPUT = 1
EXIT_BAD_INPUT = 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``analyze`` arguments to ``parser``."""
    parser.add_argument("video", help="video file to analyse")
    parser.add_argument("--exercise", required=True, help="exercise name, e.g. squat")
    parser.add_argument("--json", action="store_true", help="print the report as one object")
    parser.add_argument("--landmarks", metavar="OUT.json", help="write per-frame landmarks (px)")
    parser.add_argument("--annotated", metavar="OUT.mp4", help="write the annotated video")
    parser.add_argument("--language", default="en", choices=LANGUAGES, help="cue language")
    parser.add_argument(
        "--verbose", action="store_true", help="keep MediaPipe's native log lines on stderr"
    )
    parser.add_argument(
        "--targets", metavar="JSON", help='patient targets, e.g. {"reps": 10, "target_angle": 90}'
    )


def run(args: argparse.Namespace) -> int:
    """Run the analysis; 0 on success, 2 for bad input (one-line reason on stderr)."""
    # Imported late so ``--help`` and input errors do not wait for MediaPipe to load.
    from media.analysis.offline import analyze_video

    try:
        default_library().get(args.exercise)
        targets = _parse_targets(args.targets)
        with contextlib.nullcontext() if args.verbose else _native_stderr_silenced():
            report = analyze_video(
                args.video,
                args.exercise,
                language=args.language,
                targets=targets,
                landmarks_out=args.landmarks,
                annotated_out=args.annotated,
            )
    except TeleGuideError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:
        print(f"error: cannot write output: {exc}", file=sys.stderr)
        return EXIT_OUTPUT
    print(json.dumps(report, ensure_ascii=False) if args.json else _human(report))
    return EXIT_OK


@contextlib.contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null: TensorFlow Lite and absl write start-up lines
    there from C++, which would break the promise of a one-line reason on failure."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _parse_targets(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    from sessions.exceptions import ValidationError

    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(f"--targets is not JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise ValidationError("--targets must be a JSON object")
    return value


def _human(report: dict[str, Any]) -> str:
    lines = [
        f"{report['exercise']}: {report['reps']} reps "
        f"({report['frames_with_pose']}/{report['frames']} frames with a person)"
    ]
    for number, rep in enumerate(report["reps_detail"], start=1):
        issues = ", ".join(rep["issues"]) or "no issues"
        lines.append(
            f"  rep {number}: {rep['start_s']:.1f}-{rep['end_s']:.1f} s, "
            f"angle {rep['min_angle']:.0f}-{rep['max_angle']:.0f} deg, {issues}"
        )
    for issue in report["form_issues"]:
        lines.append(f"  {issue['code']}: {issue['count']}x, first at {issue['first_at_s']:.1f} s")
    lines.extend(f"  notice: {notice}" for notice in report["notices"])
    return "\n".join(lines)
