"""Webhook endpoints: URL, subscriptions and secret validation; which events they want."""

from __future__ import annotations

from dataclasses import replace

import pytest

from sessions.exceptions import ValidationError
from sessions.servicedesk.endpoints import make_endpoint

pytestmark = pytest.mark.servicedesk


def test_subscriptions_match_exact_family_and_all() -> None:
    """Exact names, ``family.*`` and ``*``; inactive endpoints want nothing."""
    exact = make_endpoint("https://hooks.example/a", ["ticket.escalated"])
    family = make_endpoint("https://hooks.example/b", ["recording.*"])
    everything = make_endpoint("http://127.0.0.1:9000/c", ["*"])
    assert exact.wants("ticket.escalated")
    assert not exact.wants("ticket.assigned")
    assert family.wants("recording.ready")
    assert not family.wants("ticket.escalated")
    assert everything.wants("session.ended")
    assert not replace(everything, active=False).wants("session.ended")


def test_generated_secret_is_strong_and_ids_are_prefixed() -> None:
    """Without a secret one is generated; ids name what they are."""
    endpoint = make_endpoint("https://hooks.example/a", ["ticket.*"])
    assert len(endpoint.secret) >= 40
    assert endpoint.id.startswith("whk_")
    assert make_endpoint("https://hooks.example/a", ["ticket.*"]).secret != endpoint.secret


@pytest.mark.parametrize(
    ("url", "events", "secret", "message"),
    [
        ("ftp://hooks.example/a", ["*"], None, "http"),
        ("https:///nohost", ["*"], None, "host"),
        ("https://hooks.example/a", [], None, "at least one"),
        ("https://hooks.example/a", ["billing.*"], None, "unknown event subscription"),
        ("https://hooks.example/a", ["ticket"], None, "unknown event subscription"),
        ("https://hooks.example/a", ["*"], "short", "16 characters"),
    ],
)
def test_bad_endpoints_are_refused(
    url: str, events: list[str], secret: str | None, message: str
) -> None:
    """Each kind of bad input gets a ValidationError that says what is wrong."""
    with pytest.raises(ValidationError, match=message):
        make_endpoint(url, events, secret=secret)
