"""Ticket attachments over HTTP: who may list and download, audit, and bad ids."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from signaling.annotating import ATTACHMENT_ACTION
from signaling.annotation_attachments import AttachmentFiles
from signaling.keys import SERVICES_KEY
from tests.app_fixtures import TokenFactory

Client = TestClient[Any, Any]
PNG = b"\x89PNG\r\n\x1a\n" + b"still" * 20


@pytest.fixture
async def ticket_id(client: Client, tokens: TokenFactory) -> str:
    """A ticket of patient-1 with one attachment, stored as the annotation feature stores it."""
    body = {
        "kind": "device_fault",
        "tier": "urgent",
        "title": "pump alarm",
        "requester": "patient-1",
        "patient": "patient-1",
    }
    response = await client.post("/api/tickets", headers=tokens.headers("x", "expert"), json=body)
    ticket = await response.json()
    return str(ticket["id"])


async def _attach(client: Client, ticket_id: str) -> str:
    services = client.app[SERVICES_KEY]
    saved = await AttachmentFiles(services.settings.data_dir).save_png(ticket_id, PNG)
    await services.store.append_timeline(
        ticket_id,
        actor="expert-1",
        action=ATTACHMENT_ACTION,
        data={
            "attachment_id": saved.attachment_id,
            "media_type": saved.media_type,
            "size_bytes": saved.size_bytes,
            "session_id": "ses_x",
            "producer_id": "prd_x",
            "media_time_s": 3.5,
            "marks": 2,
        },
        now=services.clock.now(),
    )
    return saved.attachment_id


@pytest.mark.parametrize(
    ("identity", "role"), [("patient-1", "patient"), ("expert-9", "expert"), ("sup", "supervisor")]
)
async def test_parties_and_staff_list_and_download(
    client: Client, tokens: TokenFactory, ticket_id: str, identity: str, role: str
) -> None:
    attachment_id = await _attach(client, ticket_id)
    headers = tokens.headers(identity, role)
    listing = await client.get(f"/api/tickets/{ticket_id}/attachments", headers=headers)
    assert listing.status == 200
    [item] = await listing.json()
    assert item["id"] == attachment_id
    assert (item["media_type"], item["size_bytes"], item["marks"]) == ("image/png", len(PNG), 2)
    assert (item["media_time_s"], item["created_by"]) == (3.5, "expert-1")
    download = await client.get(item["url"], headers=headers)
    assert download.status == 200
    assert download.content_type == "image/png"
    assert await download.read() == PNG
    assert download.headers["Cache-Control"] == "private, no-store"
    audit = await client.app[SERVICES_KEY].store.list_audit(object_id=attachment_id)
    assert [(a.actor, a.action, a.data["ticket_id"]) for a in audit] == [
        (identity, "attachment_downloaded", ticket_id)
    ]


async def test_others_get_404_and_nothing_is_audited(
    client: Client, tokens: TokenFactory, ticket_id: str
) -> None:
    attachment_id = await _attach(client, ticket_id)
    url = f"/api/tickets/{ticket_id}/attachments"
    for headers in (tokens.headers("patient-2", "patient"), tokens.headers("tech", "technician")):
        assert (await client.get(url, headers=headers)).status == 404
        assert (await client.get(f"{url}/{attachment_id}", headers=headers)).status == 404
    assert (await client.get(f"{url}/{attachment_id}")).status == 401
    assert await client.app[SERVICES_KEY].store.list_audit(object_id=attachment_id) == []


@pytest.mark.parametrize(
    ("bad", "status"),
    [
        ("att_AAAAAAAAAAAAAAAA", 404),  # the right shape, never made
        ("att_short", 404),
        ("..", 404),
        ("att_..", 404),
        ("..jwt.secret", 404),
        # A slash, even encoded, is refused by the registry's path check before the handler.
        ("..%2F..%2Fteleguide.sqlite3", 422),
        ("%2e%2e%2fjwt.secret", 422),
        ("att_AAAAAAAAAAAAAAAA%2F..%2F..%2F..%2Fjwt.secret", 422),
    ],
)
async def test_bad_attachment_ids_are_refused_and_nothing_is_served(
    client: Client, tokens: TokenFactory, ticket_id: str, bad: str, status: int
) -> None:
    await _attach(client, ticket_id)
    headers = tokens.headers("patient-1", "patient")
    response = await client.get(f"/api/tickets/{ticket_id}/attachments/{bad}", headers=headers)
    assert response.status == status
    assert response.content_type == "application/problem+json"
    assert await client.app[SERVICES_KEY].store.list_audit(object_type="attachment") == []


async def test_an_attachment_of_another_ticket_is_not_served_under_this_one(
    client: Client, tokens: TokenFactory, ticket_id: str
) -> None:
    headers = tokens.headers("expert-1", "expert")
    other = await client.post(
        "/api/tickets",
        headers=headers,
        json={"kind": "device_fault", "tier": "routine", "title": "other", "requester": "p-2"},
    )
    foreign = await _attach(client, (await other.json())["id"])
    response = await client.get(f"/api/tickets/{ticket_id}/attachments/{foreign}", headers=headers)
    assert response.status == 404


async def test_an_unknown_ticket_is_404(client: Client, tokens: TokenFactory) -> None:
    headers = tokens.headers("expert-1", "expert")
    assert (await client.get("/api/tickets/tkt_nope/attachments", headers=headers)).status == 404
