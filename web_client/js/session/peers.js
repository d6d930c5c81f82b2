// Peer connections to the server: one publish transport, one per subscribe batch.
// The server terminates every peer connection and sends its candidates in its SDP; we
// wait briefly for our own candidates so the SDP we send carries them (no trickle needed
// on a LAN, and trickling is still done for late ones).

const GATHER_WAIT_MS = 2500;

function peerConnection(iceServers) {
  return new RTCPeerConnection({
    iceServers: iceServers.map((s) => ({ urls: s.urls, username: s.username, credential: s.credential })),
    bundlePolicy: "max-bundle",
  });
}

function gathered(pc) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, GATHER_WAIT_MS);
    pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState === "complete") {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}

function trickleLate(pc, signaling, transportId) {
  pc.addEventListener("icecandidate", (event) => {
    if (!event.candidate) return;
    const { candidate, sdpMid, sdpMLineIndex } = event.candidate;
    signaling.request("trickle", { transport_id: transportId, candidate: { candidate, sdpMid, sdpMLineIndex } }).catch(() => {});
  });
}

/** Publish tracks; resolves with {pc, transportId, producerIds}. */
export async function publish(signaling, iceServers, tracks) {
  const pc = peerConnection(iceServers);
  try {
    for (const track of tracks) pc.addTransceiver(track, { direction: "sendonly" });
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    const reply = await signaling.request("publish", { sdp: pc.localDescription.sdp });
    trickleLate(pc, signaling, reply.transport_id);
    await pc.setRemoteDescription({ type: "answer", sdp: reply.sdp });
    return { pc, transportId: reply.transport_id, producerIds: reply.producer_ids };
  } catch (error) {
    pc.close();
    throw error;
  }
}

/** Receive producers; resolves with {pc, transportId, consumerIds, tracks: Map(producerId -> track)}. */
export async function subscribe(signaling, iceServers, producerIds) {
  const reply = await signaling.request("subscribe", { producer_ids: producerIds });
  const pc = peerConnection(iceServers);
  try {
    await pc.setRemoteDescription({ type: "offer", sdp: reply.sdp });
    // The server offers one m-line per producer, in the order they were asked for.
    const tracks = new Map();
    pc.getTransceivers().forEach((transceiver, index) => {
      if (index < producerIds.length) tracks.set(producerIds[index], transceiver.receiver.track);
    });
    await pc.setLocalDescription(await pc.createAnswer());
    await gathered(pc);
    await signaling.request("answer", { transport_id: reply.transport_id, sdp: pc.localDescription.sdp });
    trickleLate(pc, signaling, reply.transport_id);
    return { pc, transportId: reply.transport_id, consumerIds: reply.consumer_ids, tracks };
  } catch (error) {
    pc.close();
    throw error;
  }
}
