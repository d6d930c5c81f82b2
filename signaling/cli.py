"""The ``teleguide`` command: serve, token, migrate, analyze, bench."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from types import ModuleType

from signaling.config import (
    ConfigError,
    Settings,
    add_settings_arguments,
    load_settings,
    overrides_from_args,
)

#: ``teleguide bench NAME`` -> module with ``add_arguments(parser)`` and ``async run(args)``.
BENCHMARKS = {
    "latency": "media.benchmarks.latency",
    "fanout": "media.benchmarks.fanout",
    "analysis": "media.analysis.bench",
    "annotations": "annotations.bench",
    "recording": "media.recording.bench",
    "servicedesk": "sessions.servicedesk.bench",
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        result: int = args.func(args)
    except ConfigError as exc:
        print(f"teleguide: configuration error: {exc}", file=sys.stderr)
        return 2
    return result


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="teleguide", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser(
        "serve",
        help="run the server",
        description="Run a TeleGuide node. Every option can also come from the environment "
        "(TELEGUIDE_<NAME>) or a TOML file (--config); flags win over both.",
    )
    add_settings_arguments(serve)
    serve.set_defaults(func=_serve)

    token = commands.add_parser("token", help="mint a bearer token for a user")
    token.add_argument("--identity", required=True, help="user id (the token's sub)")
    token.add_argument(
        "--role", required=True, help="patient, technician, expert, trainer, supervisor or admin"
    )
    token.add_argument("--room", help="limit the grants to this session id")
    token.add_argument("--ttl", type=int, help="lifetime in seconds (default token_ttl_s)")
    token.add_argument("--name", default="", help="display name")
    token.add_argument("--language", default="en", help="preferred language (en, zh-CN)")
    token.add_argument("--config", type=Path, help="TOML configuration file")
    token.set_defaults(func=_token)

    migrate = commands.add_parser("migrate", help="bring the store's schema up to date")
    migrate.add_argument("--config", type=Path, help="TOML configuration file")
    migrate.set_defaults(func=_migrate)

    analyze = commands.add_parser("analyze", help="analyse an exercise video offline")
    _lazy_arguments(analyze, "media.analysis.cli")
    analyze.set_defaults(func=_analyze)

    bench = commands.add_parser("bench", help="run a benchmark and print its figures")
    names = bench.add_subparsers(dest="benchmark", required=True)
    for name, module in BENCHMARKS.items():
        sub = names.add_parser(name, help=f"benchmark: {name}")
        sub.add_argument("--json", action="store_true", help="print one JSON object")
        _lazy_arguments(sub, module)
        sub.set_defaults(func=_bench, bench_module=module)
    return parser


def _lazy_arguments(parser: argparse.ArgumentParser, module_name: str) -> None:
    """Let a module add its own arguments, if it is installed (heavy imports stay lazy)."""
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        parser.set_defaults(unavailable=f"{module_name} is not available: {exc}")
        return
    module.add_arguments(parser)


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(getattr(args, "config", None), overrides_from_args(args))


def _serve(args: argparse.Namespace) -> int:
    from signaling.server import run_server

    run_server(_settings(args))
    return 0


def _token(args: argparse.Namespace) -> int:
    from signaling.auth import Role, default_grants
    from signaling.services import build_services

    try:
        role = Role(args.role)
    except ValueError:
        print(
            f"teleguide: unknown role {args.role!r}; one of {', '.join(r.value for r in Role)}",
            file=sys.stderr,
        )
        return 2
    services = build_services(load_settings(args.config))
    grants = replace(default_grants(role), room=args.room)
    print(
        services.issuer.mint(
            args.identity,
            role,
            grants=grants,
            name=args.name,
            language=args.language,
            ttl_s=args.ttl,
        )
    )
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from signaling.services import build_services

    services = build_services(load_settings(args.config))

    async def run() -> None:
        await services.start()
        await services.stop()

    asyncio.run(run())
    print("store schema is up to date")
    return 0


def _module(args: argparse.Namespace, name: str) -> ModuleType | None:
    unavailable = getattr(args, "unavailable", None)
    if unavailable:
        print(f"teleguide: {unavailable}", file=sys.stderr)
        return None
    return importlib.import_module(name)


def _analyze(args: argparse.Namespace) -> int:
    module = _module(args, "media.analysis.cli")
    return 2 if module is None else int(module.run(args))


def _bench(args: argparse.Namespace) -> int:
    module = _module(args, args.bench_module)
    if module is None:
        return 2
    figures = asyncio.run(module.run(args))
    if args.json:
        print(json.dumps(figures, sort_keys=True))
    else:
        for key, value in figures.items():
            print(f"{key:>40}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
