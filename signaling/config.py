"""Server settings: one pydantic model filled from defaults, a TOML file, the environment, flags.

Precedence, lowest first: field defaults < TOML file (``--config`` or ``TELEGUIDE_CONFIG``) <
environment variables ``TELEGUIDE_<FIELD>`` < command-line flags. Every field's description is
the help text of its ``teleguide serve`` flag, so the documentation cannot drift from the code.
"""

from __future__ import annotations

import argparse
import os
import secrets
import tomllib
from pathlib import Path
from typing import Any, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationError

ENV_PREFIX = "TELEGUIDE_"


class Settings(BaseModel):
    """Everything an operator can configure."""

    model_config = ConfigDict(extra="forbid")

    host: str = Field("127.0.0.1", description="Address to listen on.")
    port: int = Field(8080, ge=0, le=65535, description="TCP port to listen on.")
    public_url: str = Field(
        "", description="URL users reach the server at (sign-in links); default http://HOST:PORT."
    )
    data_dir: Path = Field(
        Path("./data"), description="Directory for the SQLite database, secrets and recordings."
    )
    database_url: str = Field(
        "",
        description="SQLAlchemy URL of the store; default SQLite in DATA_DIR "
        "(postgresql+asyncpg://user@host/db for several nodes).",
    )
    redis_url: str = Field(
        "", description="Redis URL for the event bus and room registry across nodes (optional)."
    )
    node_id: str = Field("", description="Name of this node in a cluster; default the host name.")
    jwt_secret: str = Field(
        "",
        description="HS256 secret for tokens; default a random secret kept in DATA_DIR/jwt.secret.",
    )
    jwt_issuer: str = Field("teleguide", description="Expected `iss` of tokens.")
    jwt_audience: str = Field("teleguide", description="Expected `aud` of tokens.")
    jwks_url: str = Field(
        "", description="JWKS URL of an identity provider whose RS256/ES256 tokens are accepted."
    )
    jwt_leeway_s: int = Field(30, ge=0, le=300, description="Clock skew allowed on exp/nbf/iat.")
    token_ttl_s: int = Field(3600, gt=0, description="Default lifetime of minted tokens.")
    log_level: str = Field("INFO", description="Logging level (DEBUG, INFO, WARNING, ERROR).")
    log_json: bool = Field(False, description="Write logs as one JSON object per line.")
    max_body_bytes: int = Field(1024 * 1024, gt=0, description="Largest accepted request body.")
    stun_urls: list[str] = Field(
        default_factory=list, description="STUN URLs sent to clients (comma-separated in env)."
    )
    turn_urls: list[str] = Field(
        default_factory=list, description="TURN URLs sent to clients (comma-separated in env)."
    )
    turn_secret: str = Field(
        "", description="coturn use-auth-secret shared secret for ephemeral TURN credentials."
    )
    turn_ttl_s: int = Field(3600, gt=0, description="Lifetime of TURN credentials.")
    max_participants: int = Field(50, gt=0, description="Participants allowed in one session.")
    reconnect_grace_s: float = Field(
        30.0, ge=0, description="How long a dropped participant keeps its place."
    )
    analysis_workers: int = Field(
        0, ge=0, description="Pose analysis worker threads; 0 means one per CPU core."
    )
    business_calendar: dict[str, Any] = Field(
        default_factory=dict, description="Business calendar (TOML table; see docs/sla.md)."
    )
    sla: dict[str, Any] = Field(
        default_factory=dict, description="SLA tiers (TOML table; see docs/sla.md)."
    )
    recording_key: str = Field(
        "", description="Base64 of a 32-byte key: recordings are encrypted at rest (AES-GCM)."
    )
    recording_retention_days: dict[str, int] = Field(
        default_factory=dict,
        description="Days to keep recordings by ticket kind, and 'default' (180 if unset).",
    )
    demo: bool = Field(False, description="Seed demo users and a ticket, print sign-in links.")
    smtp_host: str = Field(
        "", description="SMTP server for service-desk mail; empty: mail is not sent (dead letters)."
    )
    smtp_port: int = Field(25, ge=1, le=65535, description="SMTP port (587 for STARTTLS).")
    smtp_sender: str = Field("teleguide@localhost", description="From address of desk mail.")
    smtp_user: str = Field("", description="SMTP login, when the server wants one.")
    smtp_password: str = Field("", description="Password of SMTP_USER.")
    smtp_starttls: bool = Field(False, description="Upgrade SMTP connections with STARTTLS.")
    survey_url: str = Field(
        "",
        description="Survey link template with {token}; default PUBLIC_URL/survey/{token}.",
    )
    desk_catalogue: dict[str, Any] = Field(
        default_factory=dict,
        description="Service-desk skill and language catalogue (TOML table: models = "
        "{model = category}, languages = [...]; see docs/servicedesk.md).",
    )

    def resolved_database_url(self) -> str:
        """The store URL, defaulting to SQLite inside the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'teleguide.sqlite3').resolve()}"

    def resolved_public_url(self) -> str:
        """The URL users reach the server at."""
        return self.public_url.rstrip("/") or f"http://{self.host}:{self.port}"


class ConfigError(Exception):
    """A configuration value that cannot be used; the message says which and why."""


def _env_values(environ: dict[str, str]) -> dict[str, Any]:
    """Pick TELEGUIDE_* variables that name a field; lists are comma-separated."""
    values: dict[str, Any] = {}
    for name, field in Settings.model_fields.items():
        raw = environ.get(ENV_PREFIX + name.upper())
        if raw is None:
            continue
        if field.annotation == list[str]:
            values[name] = [part.strip() for part in raw.split(",") if part.strip()]
        elif get_origin(field.annotation) is dict:
            raise ConfigError(f"{ENV_PREFIX}{name.upper()}: set this table in the TOML file")
        else:
            values[name] = raw
    return values


def load_settings(
    config_file: Path | None = None,
    overrides: dict[str, Any] | None = None,
    environ: dict[str, str] | None = None,
) -> Settings:
    """Build Settings from a TOML file, the environment and explicit overrides (in that order)."""
    env = dict(os.environ if environ is None else environ)
    path = config_file or (
        Path(env[ENV_PREFIX + "CONFIG"]) if env.get(ENV_PREFIX + "CONFIG") else None
    )
    values: dict[str, Any] = {}
    if path is not None:
        try:
            values.update(tomllib.loads(path.read_text(encoding="utf-8")))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read config file {path}: {exc}") from exc
    values.update(_env_values(env))
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    try:
        return Settings.model_validate(values)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from exc


def _describe(exc: ValidationError) -> str:
    """One line per bad setting."""
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
    )


def add_settings_arguments(parser: argparse.ArgumentParser) -> None:
    """Add one flag per scalar setting, with its description and environment variable as help."""
    parser.add_argument("--config", type=Path, help="TOML configuration file (TELEGUIDE_CONFIG).")
    tables: list[str] = []
    for name, field in Settings.model_fields.items():
        flag = "--" + name.replace("_", "-")
        env_name = ENV_PREFIX + name.upper()
        default = field.default if field.default_factory is None else "[]"
        help_text = f"{field.description} Env {env_name}. Default: {default!s}."
        if field.annotation is bool:
            parser.add_argument(flag, dest=name, action="store_true", default=None, help=help_text)
        elif field.annotation == list[str]:
            parser.add_argument(flag, dest=name, action="append", default=None, help=help_text)
        elif get_origin(field.annotation) is dict:
            tables.append(f"[{name}] {field.description}")
        else:
            parser.add_argument(flag, dest=name, default=None, help=help_text)
    parser.epilog = "Tables set only in the TOML file: " + " ".join(tables)


def overrides_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The settings given on the command line."""
    return {name: getattr(args, name, None) for name in Settings.model_fields}


def ensure_jwt_secret(settings: Settings) -> str:
    """Return the configured secret, or one generated once and kept (mode 0600) in the data dir."""
    if settings.jwt_secret:
        return settings.jwt_secret
    path = settings.data_dir / "jwt.secret"
    if path.is_file():
        return path.read_text(encoding="utf-8").strip()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(secret)
    return secret
