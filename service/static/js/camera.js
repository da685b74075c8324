// Read a certificate's QR code from the phone's rear camera, entirely in the browser.
//
// Frames are drawn to a canvas and handed to the vendored jsQR decoder every `interval`
// ms; the first text that is one of our payloads ("EC1:") goes to `onText`, after which
// scanning stops and the camera is released (the verification needs nothing more).

// jsQR ships a UMD bundle, not an ES module: imported for its side effect it sets
// `self.jsQR` (there is no module or define in a browser module scope).
import "../vendor/jsqr-1.4.0/jsQR.js";

const PREFIX = "EC1:";
const MAX_SIDE = 1280; // px: enough for a version 10-11 QR, small enough to decode fast

/**
 * Open the rear camera into `video` and scan it for our QR code.
 *
 * @param {HTMLVideoElement} video shows the camera picture
 * @param {HTMLCanvasElement} canvas where frames are drawn for decoding (may stay hidden)
 * @param {(text: string) => void} onText called once, with the first "EC1:" text read
 * @param {{interval?: number}} options ms between two decoding attempts (200)
 * @returns {Promise<() => void>} stop(): ends scanning and releases the camera; safe to
 *   call more than once. Rejects when the camera cannot be opened (no permission,
 *   no camera, not a secure context): the caller tells the user.
 */
export async function startScanner(video, canvas, onText, { interval = 200 } = {}) {
  const jsQR = globalThis.jsQR;
  const stream = await navigator.mediaDevices.getUserMedia({
    video: { facingMode: "environment" },
    audio: false,
  });
  let timer = null;
  let stopped = false;
  const stop = () => {
    stopped = true;
    clearTimeout(timer);
    for (const track of stream.getTracks()) track.stop();
    video.srcObject = null;
  };

  video.srcObject = stream;
  video.muted = true;
  video.setAttribute("playsinline", ""); // iOS Safari: play inline, not full screen
  await video.play();
  // Read back every frame: tell the browser, so it keeps the canvas in memory, not on the GPU.
  const context = canvas.getContext("2d", { willReadFrequently: true });

  const scan = () => {
    if (stopped) return;
    const { videoWidth: width, videoHeight: height } = video;
    if (width && height) {
      const scale = Math.min(1, MAX_SIDE / Math.max(width, height));
      const [w, h] = [Math.round(width * scale), Math.round(height * scale)];
      // Resizing clears and reallocates the canvas: only when the camera's size changes.
      if (canvas.width !== w || canvas.height !== h) [canvas.width, canvas.height] = [w, h];
      context.drawImage(video, 0, 0, canvas.width, canvas.height);
      const image = context.getImageData(0, 0, canvas.width, canvas.height);
      // Printed certificates are dark on light: skip the inverted pass to halve the work.
      const code = jsQR(image.data, image.width, image.height, {
        inversionAttempts: "dontInvert",
      });
      if (code && code.data.startsWith(PREFIX)) {
        stop();
        onText(code.data);
        return;
      }
    }
    timer = setTimeout(scan, interval);
  };
  scan();
  return stop;
}
