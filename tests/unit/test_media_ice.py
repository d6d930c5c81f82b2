"""ICE configuration and coturn use-auth-secret TURN credentials."""

from __future__ import annotations

import pytest

from media.ice import IceConfig, IceServer, turn_rest_credentials
from media.transport import parse_candidate
from sessions.exceptions import ValidationError


def test_turn_credentials_match_a_vector_computed_with_openssl() -> None:
    # printf '%s' "1700003600:tech42" | openssl dgst -sha1 -hmac "north-secret" -binary | base64
    username, password = turn_rest_credentials("north-secret", "tech42", 1_700_000_000, 3600)
    assert username == "1700003600:tech42"
    assert password == "LvhgizQpjyuWmnpgwW69VcxnQ5w="


def test_identity_with_a_colon_is_rejected() -> None:
    with pytest.raises(ValidationError):
        turn_rest_credentials("s", "a:b", 0)


def test_servers_for_issues_fresh_turn_credentials() -> None:
    config = IceConfig.from_mapping(
        {
            "stun_urls": "stun:stun.example.org:3478",
            "turn_urls": ["turn:turn.example.org:3478?transport=udp"],
            "turn_secret": "north-secret",
            "turn_ttl_s": 3600,
        }
    )
    stun, turn = config.servers_for("tech42", now_unix=1_700_000_000)
    assert stun == IceServer(["stun:stun.example.org:3478"])
    assert turn.username == "1700003600:tech42"
    assert turn.credential == "LvhgizQpjyuWmnpgwW69VcxnQ5w="
    assert turn.to_json()["urls"] == ["turn:turn.example.org:3478?transport=udp"]
    assert turn.to_rtc().username == "1700003600:tech42"


def test_turn_without_secret_is_not_announced() -> None:
    config = IceConfig(turn_urls=["turn:turn.example.org"])
    assert config.servers_for("x", 0) == []


def test_non_ice_urls_are_rejected() -> None:
    with pytest.raises(ValidationError):
        IceConfig.from_mapping({"stun_urls": ["http://example.org"]})


def test_browser_trickle_candidates_are_parsed() -> None:
    parsed = parse_candidate(
        {
            "candidate": "candidate:842163049 1 udp 1677729535 203.0.113.7 61665 typ srflx "
            "raddr 0.0.0.0 rport 0 generation 0",
            "sdpMid": "0",
            "sdpMLineIndex": 0,
        }
    )
    assert (parsed.ip, parsed.port, parsed.type) == ("203.0.113.7", 61665, "srflx")
    assert (parsed.sdpMid, parsed.sdpMLineIndex) == ("0", 0)


@pytest.mark.parametrize(
    "candidate",
    [
        {"candidate": "candidate:1 1 udp", "sdpMid": "0"},
        {"candidate": 5, "sdpMid": "0"},
        {"candidate": "candidate:1 1 udp 1 10.0.0.1 9 typ host"},
    ],
)
def test_malformed_candidates_are_rejected(candidate: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        parse_candidate(candidate)
