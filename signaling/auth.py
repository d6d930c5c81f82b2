"""JWT bearer tokens: identity, role and LiveKit-style grants; minting (HS256) and verification.

Verification accepts exactly HS256 with the configured secret, or RS256/ES256 with a key from
the configured JWKS URL, chosen by the token's ``kid``; the algorithm list is fixed per key
type, so ``none`` and HS/RS confusion (an RSA public key used as an HMAC secret) cannot pass.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import aiohttp
import jwt

from sessions.exceptions import AuthenticationError, PermissionDeniedError
from sessions.grants import STAFF_ROLES, Grants, Role, default_grants

log = logging.getLogger(__name__)

HMAC_ALGORITHMS = ["HS256"]
JWKS_ALGORITHMS = ["RS256", "ES256"]


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller."""

    identity: str
    """Stable user id (``sub``)."""
    role: Role
    """Role."""
    grants: Grants = field(default_factory=Grants)
    """Session grants."""
    name: str = ""
    """Display name."""
    language: str = "en"
    """Preferred language."""
    expires_at: float = 0.0
    """Token expiry, Unix seconds."""

    @property
    def is_staff(self) -> bool:
        """Service-desk staff see and change every ticket."""
        return self.role in STAFF_ROLES

    def require(self, allowed: bool, what: str) -> None:
        """Raise PermissionDeniedError naming ``what`` unless ``allowed``."""
        if not allowed:
            raise PermissionDeniedError(f"{self.role.value} {self.identity!r} may not {what}")


class TokenIssuer:
    """Mints HS256 tokens for operators, the demo and tests."""

    def __init__(self, secret: str, issuer: str, audience: str, default_ttl_s: int) -> None:
        self._secret = secret
        self._issuer = issuer
        self._audience = audience
        self._default_ttl_s = default_ttl_s

    def mint(
        self,
        identity: str,
        role: Role,
        *,
        grants: Grants | None = None,
        name: str = "",
        language: str = "en",
        ttl_s: int | None = None,
        now: float | None = None,
    ) -> str:
        """Return a signed token for the identity."""
        issued = int(time.time() if now is None else now)
        claims: dict[str, Any] = {
            "sub": identity,
            "iss": self._issuer,
            "aud": self._audience,
            "iat": issued,
            "nbf": issued,
            "exp": issued + (ttl_s or self._default_ttl_s),
            "role": role.value,
            "name": name or identity,
            "lang": language,
            "grants": asdict(grants or default_grants(role)),
        }
        return jwt.encode(claims, self._secret, algorithm="HS256")


class TokenVerifier:
    """Checks tokens and turns their claims into a Principal."""

    def __init__(
        self,
        secret: str,
        issuer: str,
        audience: str,
        leeway_s: int,
        jwks: JwksCache | None = None,
    ) -> None:
        self._secret = secret
        self._issuer = issuer
        self._audience = audience
        self._leeway_s = leeway_s
        self._jwks = jwks

    async def verify(self, token: str) -> Principal:
        """Return the principal of a valid token; raise AuthenticationError otherwise."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise AuthenticationError(f"malformed token: {exc}") from exc
        alg = header.get("alg")
        if alg in HMAC_ALGORITHMS:
            key: Any = self._secret
            algorithms = HMAC_ALGORITHMS
        elif alg in JWKS_ALGORITHMS and self._jwks is not None:
            key = await self._jwks.key_for(header.get("kid"), alg)
            algorithms = [alg]
        else:
            raise AuthenticationError(f"token algorithm {alg!r} is not accepted")
        claims = self._decode(token, key, algorithms)
        return principal_from_claims(claims)

    def _decode(self, token: str, key: Any, algorithms: list[str]) -> dict[str, Any]:
        try:
            return jwt.decode(
                token,
                key,
                algorithms=algorithms,
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway_s,
                options={"require": ["exp", "sub", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise AuthenticationError("token expired", reason="expired") from exc
        except jwt.PyJWTError as exc:
            raise AuthenticationError(f"invalid token: {exc}") from exc


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    """Build a Principal from verified claims; unknown roles or grant fields are refused."""
    try:
        role = Role(claims.get("role", ""))
    except ValueError as exc:
        raise AuthenticationError(f"token has unknown role {claims.get('role')!r}") from exc
    grants = default_grants(role)
    raw_grants = claims.get("grants")
    if raw_grants is not None:
        if not isinstance(raw_grants, dict) or set(raw_grants) - set(Grants.__slots__):
            raise AuthenticationError("token grants are malformed")
        grants = replace(grants, **raw_grants)
    return Principal(
        identity=str(claims["sub"]),
        role=role,
        grants=grants,
        name=str(claims.get("name") or claims["sub"]),
        language=str(claims.get("lang") or "en"),
        expires_at=float(claims["exp"]),
    )


class JwksCache:
    """Fetches an identity provider's JWKS and keeps it, refetching for unknown ``kid`` values."""

    def __init__(self, url: str, ttl_s: float = 300.0, min_refresh_s: float = 10.0) -> None:
        self._url = url
        self._ttl_s = ttl_s
        self._min_refresh_s = min_refresh_s
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()

    async def key_for(self, kid: str | None, alg: str) -> Any:
        """Return the verification key for ``kid``, refreshing the set when needed."""
        if kid is None:
            raise AuthenticationError("token has no kid to select a JWKS key")
        key = self._keys.get(kid)
        stale = time.monotonic() - self._fetched_at > self._ttl_s
        if key is None or stale:
            await self._refresh()
            key = self._keys.get(kid)
        if key is None:
            raise AuthenticationError(f"no JWKS key with kid {kid!r}")
        if key.algorithm_name != alg:
            raise AuthenticationError(f"key {kid!r} is not for {alg}")
        return key.key

    async def _refresh(self) -> None:
        async with self._lock:
            if time.monotonic() - self._fetched_at < self._min_refresh_s:
                return  # another request just refreshed; do not hammer the provider
            try:
                timeout = aiohttp.ClientTimeout(total=5)
                async with (
                    aiohttp.ClientSession(timeout=timeout) as http,
                    http.get(self._url) as response,
                ):
                    response.raise_for_status()
                    document = await response.json(content_type=None)
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                log.warning("JWKS fetch from %s failed: %s", self._url, exc)
                raise AuthenticationError("identity provider keys are unavailable") from exc
            self._keys = _parse_jwks(document)
            self._fetched_at = time.monotonic()


def _parse_jwks(document: Any) -> dict[str, jwt.PyJWK]:
    """Keep the RSA and EC signing keys that name an accepted algorithm (or imply one)."""
    keys: dict[str, jwt.PyJWK] = {}
    for entry in document.get("keys", []) if isinstance(document, dict) else []:
        if entry.get("use", "sig") != "sig" or "kid" not in entry:
            continue
        alg = entry.get("alg") or {"RSA": "RS256", "EC": "ES256"}.get(entry.get("kty", ""))
        if alg not in JWKS_ALGORITHMS:
            continue
        try:
            keys[entry["kid"]] = jwt.PyJWK(entry, algorithm=alg)
        except jwt.PyJWTError as exc:
            log.warning("skipping JWKS key %s: %s", entry.get("kid"), exc)
    return keys


def bearer_token(authorization: str | None) -> str:
    """Extract the token of an ``Authorization: Bearer ...`` header."""
    if not authorization:
        raise AuthenticationError("missing bearer token")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationError("authorization header must be 'Bearer <token>'")
    return token.strip()
