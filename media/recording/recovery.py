"""Recovery on restart: close recordings a killed server left open and mark them interrupted.

A killed writer leaves a WebM without its trailer: no duration, no cues, possibly a torn
last cluster. Each such file is remuxed (no decoding) into a finished file holding every
packet that can still be read, the manifest takes the timeline from timeline.jsonl, and
the recording is marked ``interrupted``. All of it is blocking: run it in a thread at start.
"""

from __future__ import annotations

import logging
import os
from datetime import timedelta
from pathlib import Path

import av
import av.error

from media.recording.crypto import ENCRYPTED_SUFFIX, encrypt_file
from media.recording.manifest import (
    MANIFEST_NAME,
    Manifest,
    TimelineEvent,
    TimelineKind,
    TrackEntry,
    read_manifest,
    read_timeline,
    write_manifest,
)
from media.recording.state import FINAL_STATES, RecordingState

log = logging.getLogger(__name__)

INTERRUPTED_REASON = "server_stopped"


def recover_interrupted(root: Path, encryption_key: bytes | None = None) -> list[Manifest]:
    """Close every unfinished recording under ``root``; return their new manifests."""
    recovered = []
    for manifest_path in sorted(root.glob(f"*/{MANIFEST_NAME}")):
        manifest = read_manifest(manifest_path.parent)
        if manifest.state in FINAL_STATES:
            continue
        recovered.append(recover_one(manifest_path.parent, manifest, encryption_key))
    return recovered


def recover_one(directory: Path, manifest: Manifest, encryption_key: bytes | None) -> Manifest:
    """Repair one recording's files and mark it interrupted."""
    log.warning("recovering interrupted recording %s", manifest.recording_id)
    manifest.timeline = _merged_timeline(manifest.timeline, read_timeline(directory))
    for entry in manifest.tracks:
        _repair_track(directory, entry)
        if encryption_key is not None:
            _encrypt(directory, entry, encryption_key)
    end_s = max(
        [e.media_s for e in manifest.timeline]
        + [(t.start_media_s or 0.0) + t.duration_s for t in manifest.tracks]
        + [0.0]
    )
    manifest.ended_at = manifest.started_at + timedelta(seconds=end_s)
    manifest.state = RecordingState.INTERRUPTED
    manifest.reason = INTERRUPTED_REASON
    manifest.timeline.append(
        TimelineEvent(
            seq=len(manifest.timeline) + 1,
            media_s=round(end_s, 3),
            at=manifest.ended_at,
            kind=TimelineKind.RECORDING,
            data={"state": RecordingState.INTERRUPTED.value, "reason": INTERRUPTED_REASON},
        )
    )
    write_manifest(directory, manifest)
    return manifest


def _merged_timeline(
    in_manifest: list[TimelineEvent], in_log: list[TimelineEvent]
) -> list[TimelineEvent]:
    # The append-only log is written per event, the manifest only now and then.
    by_seq = {e.seq: e for e in in_manifest}
    by_seq.update({e.seq: e for e in in_log})
    return sorted(by_seq.values(), key=lambda e: (e.media_s, e.seq))


def _repair_track(directory: Path, entry: TrackEntry) -> None:
    path = directory / entry.file
    if entry.encrypted or not path.exists():
        return
    tmp = path.with_name(path.stem + ".repair.webm")
    packets, duration_s = remux_readable(path, tmp)
    if packets == 0:
        tmp.unlink(missing_ok=True)
        entry.failure = "nothing readable"
        return
    os.replace(tmp, path)
    entry.packets, entry.duration_s = packets, duration_s
    entry.failure = entry.failure or "interrupted"


def remux_readable(src: Path, dst: Path) -> tuple[int, float]:
    """Copy every readable packet of ``src`` into a finished ``dst``; return (packets, s)."""
    packets, last_s = 0, 0.0
    try:
        source = av.open(str(src))
    except (av.error.FFmpegError, OSError) as exc:
        log.error("%s cannot be opened: %s", src.name, exc)
        return 0, 0.0
    with source, av.open(str(dst), "w", format="webm") as target:
        in_stream = source.streams[0]
        out_stream = target.add_stream_from_template(in_stream)
        try:
            for packet in source.demux(in_stream):
                if packet.dts is None or packet.size == 0:
                    continue  # the demuxer's end-of-stream marker
                packet.stream = out_stream
                target.mux_one(packet)
                packets += 1
                last_s = float((packet.pts or 0) * packet.time_base)
        except av.error.FFmpegError as exc:
            # The torn end of the file: keep everything before it.
            log.warning("%s: stopped at a damaged packet: %s", src.name, exc)
    return packets, last_s


def _encrypt(directory: Path, entry: TrackEntry, key: bytes) -> None:
    plain = directory / entry.file
    if entry.encrypted or not plain.exists():
        return
    sealed = plain.with_name(plain.name + ENCRYPTED_SUFFIX)
    encrypt_file(plain, sealed, key)
    plain.unlink()
    entry.file, entry.encrypted = sealed.name, True
