"""Recording endpoints: list, manifest, signed links, files by link (ranges), delete, export.

Authorization is the matrix of media/recording/access.py; every attempt on one recording,
allowed or refused, goes into the audit log (object type ``recording``). Files are served
only through short-lived links signed for one viewer, so a ``<video>`` element can play
them without a bearer header; a link presented with a bearer token must be that viewer's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from pydantic import BaseModel, Field

from media.recording.access import (
    RecordingAction,
    RecordingParties,
    Viewer,
    access_record,
    authorize,
)
from media.recording.audit import AuditRecord
from media.recording.errors import LinkExpiredError, LinkForgedError, RangeNotSatisfiableError
from media.recording.export import ExportState
from media.recording.links import sign_link, verify_link
from media.recording.manifest import MANIFEST_NAME, Manifest, read_manifest
from media.recording.node import RecordingNode
from media.recording.ranges import ByteRange, parse_range
from media.recording.serving import ServedFile, read_file, resolve_file
from sessions.exceptions import NotFoundError, PermissionDeniedError, ValidationError
from sessions.ids import new_id
from sessions.store.recordings_tables import RecordingExportRow, RecordingRow
from signaling import access
from signaling.api.registry import ApiRegistry, Call
from signaling.auth import Principal
from signaling.keys import REQUEST_ID_KEY, SERVICES_KEY
from signaling.problems import problem_response, to_wire_error
from signaling.recording_feature import recording_node

TAGS = ("recordings",)
_A = RecordingAction


class TrackOut(BaseModel):
    """One media file of a recording."""

    track_id: str
    participant_id: str
    kind: str
    start_media_s: float | None = None
    duration_s: float | None = None


class RecordingOut(BaseModel):
    """A recording as a ticket lists it."""

    id: str
    ticket_id: str
    session_id: str
    policy: str
    state: str
    reason: str | None = None
    started_at: datetime
    ended_at: datetime | None = None
    encrypted: bool
    size_bytes: int
    tracks: list[TrackOut]


class LinkCreate(BaseModel):
    """Which file to link to, and for how long."""

    file: str = Field(min_length=1, max_length=200, description="A file named in the manifest.")
    ttl_s: int = Field(300, ge=1, le=3600, description="Lifetime in seconds (at most an hour).")


class LinkOut(BaseModel):
    """A signed link to one file for the caller."""

    url: str
    file: str
    expires_at: datetime


class LinkQuery(BaseModel):
    """The signed fields of a link."""

    exp: str = Field(max_length=20)
    viewer: str = Field(max_length=200)
    sig: str = Field(max_length=128)


class ExportCreate(BaseModel):
    """What to export: a video track (default: the first one)."""

    track_id: str | None = Field(None, max_length=64)


class ExportOut(BaseModel):
    """An annotated MP4 export job."""

    id: str
    recording_id: str
    state: str
    progress: float
    error: str | None = None
    created_at: datetime
    finished_at: datetime | None = None
    file: str | None = None
    """When done: the file to ask a link for."""


@dataclass(frozen=True, slots=True)
class _Access:
    """An authorized access: the node, the row, and who for the audit record."""

    node: RecordingNode
    row: RecordingRow
    viewer: Viewer
    parties: RecordingParties


async def _node(call: Call[Any, Any]) -> RecordingNode:
    node = recording_node(call.request.app[SERVICES_KEY])
    await node.ready()
    return node


def _viewer(principal: Principal) -> Viewer:
    return Viewer(principal.identity, principal.role.value, principal.grants.can_subscribe)


async def _parties(node: RecordingNode, row: RecordingRow) -> RecordingParties:
    ticket = await node.store.get_ticket(row.ticket_id)
    people = {ticket.requester, ticket.patient, ticket.assignee, *row.tracks.get("parties", [])}
    return RecordingParties(row.id, row.ticket_id, {p for p in people if p})


async def _audit(call: Call[Any, Any], node: RecordingNode, record: AuditRecord) -> None:
    await node.repository.audit(record, call.request.get(REQUEST_ID_KEY))


async def _authorized(
    call: Call[Any, Any], action: RecordingAction, *, audit: bool = True
) -> _Access:
    """The recording of the path, if the caller may do ``action``; every attempt audited."""
    node = await _node(call)
    row = await node.repository.get(call.path("recording_id"))
    if row.deleted_at is not None:
        raise NotFoundError(f"recording {row.id} was deleted")
    viewer, parties = _viewer(call.caller), await _parties(node, row)
    now = node.clock.now()
    try:
        authorize(viewer, parties, action)
    except (NotFoundError, PermissionDeniedError):
        await _audit(call, node, access_record(viewer, parties, action, now, allowed=False))
        raise
    if audit and action is not _A.DOWNLOAD:  # downloads are audited when the bytes go out
        await _audit(call, node, access_record(viewer, parties, action, now, allowed=True))
    return _Access(node, row, viewer, parties)


def _recording_out(row: RecordingRow) -> RecordingOut:
    return RecordingOut(
        id=row.id,
        ticket_id=row.ticket_id,
        session_id=row.session_id,
        policy=row.policy,
        state=row.state,
        reason=row.reason,
        started_at=row.started_at,
        ended_at=row.ended_at,
        encrypted=row.encrypted,
        size_bytes=row.size_bytes,
        tracks=[TrackOut.model_validate(t) for t in row.tracks.get("items", [])],
    )


# -- listing and manifest ------------------------------------------------------------------


async def list_recordings(call: Call[None, None]) -> list[RecordingOut]:
    """A ticket's recordings the caller may see (404 to whoever may not see the ticket)."""
    node = await _node(call)
    ticket = await node.store.get_ticket(call.path("ticket_id"))
    access.require_view(call.caller, ticket)
    viewer = _viewer(call.caller)
    visible = []
    for row in await node.repository.for_ticket(ticket.id):
        try:
            authorize(viewer, await _parties(node, row), _A.LIST)
        except (NotFoundError, PermissionDeniedError):
            continue  # staff see the ticket, but only the recordings they took part in
        visible.append(_recording_out(row))
    return visible


async def get_recording(call: Call[None, None]) -> Manifest:
    """A recording's manifest: tracks, their offsets, and the timeline."""
    granted = await _authorized(call, _A.VIEW)
    return await asyncio.to_thread(read_manifest, granted.node.directory_of(granted.row))


# -- links and files -----------------------------------------------------------------------


async def create_link(call: Call[LinkCreate, None]) -> LinkOut:
    """A link to one file, signed for the caller, valid for ``ttl_s`` seconds."""
    body = call.body
    granted = await _authorized(call, _A.DOWNLOAD)
    node, row = granted.node, granted.row
    directory = node.directory_of(row)
    await asyncio.to_thread(resolve_file, directory, body.file, node.encryption_key)
    now = node.clock.now()
    link = sign_link(
        node.link_key,
        row.id,
        body.file,
        granted.viewer.identity,
        now,
        timedelta(seconds=body.ttl_s),
    )
    record = AuditRecord(
        now,
        granted.viewer.identity,
        "recording_link_issued",
        row.id,
        row.ticket_id,
        {"file": body.file, "ttl_s": body.ttl_s, "role": granted.viewer.role},
    )
    await _audit(call, node, record)
    expires = datetime.fromtimestamp(link.expires, now.tzinfo)
    return LinkOut(url=link.url(), file=body.file, expires_at=expires)


async def serve_file(call: Call[None, LinkQuery]) -> web.StreamResponse:
    """The bytes of a file, by signed link; single byte ranges answer 206 (416 past the end)."""
    node = await _node(call)
    recording_id, file, query = call.path("recording_id"), call.path("file"), call.query
    # Presented with a token, the link must be the caller's; without, the link is the key.
    viewer = call.principal.identity if call.principal is not None else query.viewer
    now = node.clock.now()
    row = await node.repository.get(recording_id)
    denied = AuditRecord(now, viewer, "recording_access_denied", row.id, row.ticket_id)
    try:
        verify_link(node.link_key, recording_id, file, viewer, query.exp, query.sig, now)
    except (LinkForgedError, LinkExpiredError) as exc:
        await _audit(call, node, _with(denied, file=file, error=exc.code))
        raise
    if row.deleted_at is not None:
        raise NotFoundError(f"recording {row.id} was deleted")
    served = await asyncio.to_thread(
        resolve_file, node.directory_of(row), file, node.encryption_key
    )
    header = call.request.headers.get("Range")
    try:
        byte_range = parse_range(header, served.size)
    except RangeNotSatisfiableError as exc:
        await _audit(call, node, _with(denied, file=file, range=header, error=exc.code))
        response = problem_response(to_wire_error(exc), call.request.get(REQUEST_ID_KEY))
        response.headers["Content-Range"] = f"bytes */{served.size}"
        return response
    done = AuditRecord(now, viewer, "recording_downloaded", row.id, row.ticket_id)
    await _audit(call, node, _with(done, file=file, range=header))
    return await _stream(call.request, served, byte_range, node.encryption_key)


def _with(record: AuditRecord, **data: Any) -> AuditRecord:
    extra = {k: v for k, v in data.items() if v is not None}
    return AuditRecord(
        record.at, record.actor, record.action, record.recording_id, record.ticket_id, extra
    )


async def _stream(
    request: web.Request, served: ServedFile, byte_range: ByteRange | None, key: bytes | None
) -> web.StreamResponse:
    response = web.StreamResponse(status=206 if byte_range else 200)
    response.content_type = served.content_type
    response.content_length = byte_range.length if byte_range else served.size
    response.headers["Accept-Ranges"] = "bytes"
    response.headers["Cache-Control"] = "private, no-store"
    if byte_range is not None:
        response.headers["Content-Range"] = byte_range.content_range()
    await response.prepare(request)
    chunks: Iterator[bytes] = read_file(served, byte_range, key)
    while chunk := await asyncio.to_thread(next, chunks, b""):
        await response.write(chunk)
    await response.write_eof()
    return response


# -- deletion and export -------------------------------------------------------------------


async def delete_recording(call: Call[None, None]) -> None:
    """Remove a recording's files; its row and the audit entry stay."""
    node = await _node(call)
    row = await node.repository.get(call.path("recording_id"))
    if row.deleted_at is not None:
        raise NotFoundError(f"recording {row.id} was deleted")
    viewer, parties = _viewer(call.caller), await _parties(node, row)
    try:
        authorize(viewer, parties, _A.DELETE)
    except (NotFoundError, PermissionDeniedError):
        denied = access_record(viewer, parties, _A.DELETE, node.clock.now(), allowed=False)
        await _audit(call, node, denied)
        raise
    await node.delete(row, viewer.identity, reason="request")


async def start_export(call: Call[ExportCreate, None]) -> ExportOut:
    """Start rendering the recording with its annotations into an MP4 (poll its status)."""
    granted = await _authorized(call, _A.EXPORT)
    node, row = granted.node, granted.row
    directory = node.directory_of(row)
    await asyncio.to_thread(resolve_file, directory, MANIFEST_NAME)  # refuses a live one
    manifest = await asyncio.to_thread(read_manifest, directory)
    track_id = call.body.track_id
    videos = [t.track_id for t in manifest.tracks if t.kind == "video"]
    if not videos or (track_id is not None and track_id not in videos):
        raise ValidationError(f"recording {row.id} has no such video track to export")
    output = directory / f"{new_id('exp')}.mp4"  # served by link like the tracks once done
    job = node.exports.submit(directory, output, track_id)
    export = RecordingExportRow(
        id=job.id,
        recording_id=row.id,
        requested_by=granted.viewer.identity,
        state=job.state.value,
        progress=0.0,
        output=str(job.output.relative_to(node.data_dir)),
        created_at=node.clock.now(),
    )
    await node.repository.save_export(export)
    return _export_out(export)


async def get_export(call: Call[None, None]) -> ExportOut:
    """An export job's state and progress."""
    granted = await _authorized(call, _A.EXPORT, audit=False)  # polling is not an access
    node = granted.node
    export = await node.repository.get_export(granted.row.id, call.path("export_id"))
    try:
        job = node.exports.status(export.id)
    except NotFoundError:  # started on another node or before a restart: the row says
        return _export_out(export)
    export.state, export.progress, export.error = job.state.value, job.progress, job.error
    if job.state in {ExportState.DONE, ExportState.FAILED} and export.finished_at is None:
        export.finished_at = node.clock.now()
    await node.repository.save_export(export)
    return _export_out(export)


def _export_out(row: RecordingExportRow) -> ExportOut:
    return ExportOut(
        id=row.id,
        recording_id=row.recording_id,
        state=row.state,
        progress=row.progress,
        error=row.error,
        created_at=row.created_at,
        finished_at=row.finished_at,
        file=Path(row.output).name if row.state == ExportState.DONE.value else None,
    )


def register(registry: ApiRegistry) -> None:
    """Add the recording endpoints."""
    route = registry.route
    base = "/api/recordings/{recording_id}"
    route(
        "GET",
        "/api/tickets/{ticket_id}/recordings",
        summary="A ticket's recordings",
        tags=TAGS,
        response=list[RecordingOut],
        errors=(404,),
    )(list_recordings)
    route(
        "GET",
        base,
        summary="A recording's manifest",
        tags=TAGS,
        response=Manifest,
        errors=(403, 404),
    )(get_recording)
    route(
        "POST",
        f"{base}/links",
        summary="A short-lived signed link to a recording file",
        tags=TAGS,
        body=LinkCreate,
        response=LinkOut,
        status=201,
        errors=(403, 404, 409),
    )(create_link)
    route(
        "GET",
        f"{base}/files/{{file}}",
        summary="A recording file, by signed link (byte ranges supported)",
        tags=TAGS,
        query=LinkQuery,
        auth=False,
        errors=(403, 404, 409, 416),
    )(serve_file)
    route(
        "DELETE",
        base,
        summary="Delete a recording's files (the audit entry stays)",
        tags=TAGS,
        status=204,
        errors=(403, 404, 409),
    )(delete_recording)
    route(
        "POST",
        f"{base}/exports",
        summary="Start an annotated MP4 export",
        tags=TAGS,
        body=ExportCreate,
        response=ExportOut,
        status=202,
        errors=(403, 404, 409),
    )(start_export)
    route(
        "GET",
        f"{base}/exports/{{export_id}}",
        summary="An export job's status",
        tags=TAGS,
        response=ExportOut,
        errors=(403, 404),
    )(get_export)
