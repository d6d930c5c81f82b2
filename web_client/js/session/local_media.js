// The camera and microphone of this device, asked for once per session page.

/**
 * Ask for camera and microphone; when refused, try each alone.
 * Resolves with {stream, problem}: problem is null, or {denied, video, audio} naming what is
 * missing and whether the user (or a policy) refused it rather than the device being absent.
 */
export async function acquireLocalMedia() {
  const attempts = [
    { audio: true, video: true },
    { audio: false, video: true },
    { audio: true, video: false },
  ];
  let stream = null;
  let firstError = null;
  for (const constraints of attempts) {
    try {
      stream = await navigator.mediaDevices.getUserMedia(constraints);
      break;
    } catch (error) {
      firstError = firstError || error;
    }
  }
  const hasVideo = Boolean(stream?.getVideoTracks().length);
  const hasAudio = Boolean(stream?.getAudioTracks().length);
  if (hasVideo && hasAudio) return { stream, problem: null };
  const denied = firstError?.name === "NotAllowedError" || firstError?.name === "SecurityError";
  return { stream, problem: { denied, video: !hasVideo, audio: !hasAudio } };
}

/** The catalog key explaining a media problem. */
export function mediaProblemKey(problem) {
  const which = problem.video && problem.audio ? "both" : problem.video ? "camera" : "mic";
  return `media.${problem.denied ? "denied" : "missing"}_${which}`;
}
