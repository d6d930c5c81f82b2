"""``python -m media.analysis analyze|bench ...``: the same commands as ``teleguide``."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from media.analysis import bench, cli


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and run the analyze or bench command."""
    parser = argparse.ArgumentParser(prog="python -m media.analysis")
    commands = parser.add_subparsers(dest="command", required=True)
    cli.add_arguments(commands.add_parser("analyze", help="analyse a video file"))
    bench.add_arguments(commands.add_parser("bench", help="benchmark live analysis"))
    args = parser.parse_args(argv)
    if args.command == "analyze":
        return cli.run(args)
    print(json.dumps(asyncio.run(bench.run(args)), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
