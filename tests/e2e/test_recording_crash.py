"""A recording process killed with SIGKILL, then recovered; and a disk that fills up.

The recording runs in a real child process (``python -m tests.e2e.test_recording_crash``)
that plays marker video and a tone into a Recording in real time, as a live session would.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import pytest

from media.recording.manifest import read_manifest
from media.recording.policy import RecordingPolicy
from media.recording.probe import probe_file
from media.recording.recording import Recording
from media.recording.recovery import recover_interrupted
from media.recording.state import RecordingState
from media.recording.synthetic import SyntheticProducer, opus_packets, vp8_packets
from sessions.clock import SystemClock

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
KILL_AFTER_S = 6.0


def _say(**fields: Any) -> None:
    print(json.dumps(fields), flush=True)


async def _play(
    producer: SyntheticProducer,
    packets: list[tuple[av.Packet, bool]],
    interval_s: float,
    pushed: dict[str, float],
) -> None:
    loop = asyncio.get_running_loop()
    origin = loop.time()
    for index, (packet, key) in enumerate(packets):
        # Pace by frame count so the recording sees a live stream, one frame per interval.
        await asyncio.sleep(max(0.0, origin + index * interval_s - loop.time()))
        producer.emit(packet, key)
        pushed[producer.kind] = (index + 1) * interval_s


async def _worker(root: Path, seconds: float) -> None:
    def on_state(recording: Recording, state: RecordingState) -> None:
        _say(event="state", state=state.value, reason=recording.reason)

    # Encoded up front: encoding on the loop of a loaded machine would fall behind real time.
    video = list(vp8_packets(int(seconds * 30), 320, 240, 30))
    audio = list(opus_packets(seconds))
    recording = Recording(
        root=root,
        session_id="ses_crash",
        ticket_id="tkt_crash",
        ticket_kind="device_fault",
        policy=RecordingPolicy.FULL,
        clock=SystemClock(),
        on_state=on_state,
    )
    await recording.start()
    _say(event="started", directory=str(recording.directory))
    camera = SyntheticProducer("alice", "video/VP8")
    microphone = SyntheticProducer("alice", "audio/opus")
    recording.participant_joined("alice")
    recording.add_producer(camera)
    recording.add_producer(microphone)
    recording.answer_consent("alice", granted=True)
    pushed = {"video": 0.0, "audio": 0.0}
    tasks = [
        asyncio.create_task(_play(camera, video, 1 / 30, pushed)),
        asyncio.create_task(_play(microphone, audio, 0.02, pushed)),
    ]
    while not all(t.done() for t in tasks):
        await asyncio.sleep(0.25)
        _say(event="progress", media_s=recording.media_time(), pushed=pushed)
    # The session goes on after a failed recording: it still takes events and ends normally.
    manifest = await recording.stop()
    await recording.close()
    _say(event="done", state=manifest.state.value, reason=manifest.reason)


def _main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("root", type=Path)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--file-size-limit", type=int, default=0)
    args = parser.parse_args()
    if args.file_size_limit:
        import resource

        # A per-file size limit stands in for a full disk: writes past it fail with EFBIG
        # (instead of the process being killed by SIGXFSZ), as they fail with ENOSPC.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (args.file_size_limit, args.file_size_limit))
    asyncio.run(_worker(args.root, args.seconds))


def _spawn(root: Path, *extra: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "tests.e2e.test_recording_crash", str(root), *extra]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True, env=env)


def _lines(process: subprocess.Popen[str]) -> Iterator[dict[str, Any]]:
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("{"):
            yield json.loads(line)


def test_killed_recording_plays_to_within_two_seconds_and_is_interrupted(tmp_path: Path) -> None:
    process = _spawn(tmp_path, "--seconds", "12")
    directory: Path | None = None
    pushed: dict[str, float] = {}
    try:
        for message in _lines(process):
            if message["event"] == "started":
                directory = Path(message["directory"])
            if message["event"] == "progress" and min(message["pushed"].values()) >= KILL_AFTER_S:
                # What the recorder had been handed when the server died, per kind.
                os.kill(process.pid, signal.SIGKILL)
                pushed = message["pushed"]
                break
    finally:
        process.kill()
        process.wait(10)
        assert process.stdout is not None
        process.stdout.close()
    assert directory is not None
    assert pushed
    assert read_manifest(directory).state is RecordingState.RECORDING

    [manifest] = recover_interrupted(tmp_path)

    assert manifest.state is RecordingState.INTERRUPTED
    assert manifest.reason == "server_stopped"
    assert read_manifest(directory).state is RecordingState.INTERRUPTED
    assert {t.kind for t in manifest.tracks} == {"video", "audio"}
    for track in manifest.tracks:
        probe = probe_file(directory / track.file)
        assert probe.error is None
        # Each track starts with the first packet handed over, so its own time is what
        # was pushed; up to 0.25 s more may have been pushed between report and kill.
        assert probe.duration_s >= pushed[track.kind] - 2.0, (track.kind, probe, pushed)
        assert probe.duration_s <= pushed[track.kind] + 1.0
        with av.open(str(directory / track.file)) as container:
            # Finished by the recovery remux: the container now knows its duration.
            assert container.duration is not None
    assert recover_interrupted(tmp_path) == []  # idempotent: nothing left to recover


def test_full_disk_stops_the_recording_cleanly_and_the_session_goes_on(tmp_path: Path) -> None:
    process = _spawn(tmp_path, "--seconds", "8", "--file-size-limit", str(50_000))
    messages = list(_lines(process))
    assert process.wait(60) == 0
    assert process.stdout is not None
    process.stdout.close()
    states = [(m["state"], m["reason"]) for m in messages if m["event"] == "state"]
    assert ("failed", "disk_full") in states
    done = messages[-1]
    assert (done["event"], done["state"], done["reason"]) == ("done", "failed", "disk_full")
    # The session kept running after the failure: progress went on to the end.
    progress = [m["media_s"] for m in messages if m["event"] == "progress"]
    assert progress[-1] >= 7.5
    directory = Path(next(m["directory"] for m in messages if m["event"] == "started"))
    manifest = read_manifest(directory)
    assert (manifest.state, manifest.reason) == (RecordingState.FAILED, "disk_full")
    # The audio track (the larger file of this synthetic media) hit the limit first.
    [full] = [t for t in manifest.tracks if t.failure == "disk_full"]
    assert probe_file(directory / full.file).duration_s > 1.0  # what fitted still plays


if __name__ == "__main__":
    _main()
