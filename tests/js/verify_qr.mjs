// Node driver for tests/test_offline_verify_js.py: runs the browser verifier under Node 20.
//
//   node tests/js/verify_qr.mjs case.json
//
// case.json: {"text": "EC1:...", "jwks": {...}, "at": "YYYY-MM-DD"} and optionally
//   "image": {"width", "height", "rgba": base64}  — read the text from these pixels with
//            the vendored jsQR first (as camera.js does with a canvas frame);
//   "load_trust": {"url", "cached": {...} | null} — take the JWKS from loadTrust(url)
//            instead of "jwks", with localStorage holding "cached" beforehand.
// Prints {"verified": <verifyQrText result>, "decoded_text"?, "trust"?, "stored"?} as JSON.
// Exit status 0 when it ran (whatever the verdict), 1 on any error.

import { readFile } from "node:fs/promises";

const here = (path) => new URL(path, import.meta.url);

/** The part of the Web Storage API that qr-verify.js uses, in memory. */
class MemoryStorage {
  #items = new Map();
  getItem(key) {
    return this.#items.has(key) ? this.#items.get(key) : null;
  }
  setItem(key, value) {
    this.#items.set(key, String(value));
  }
  removeItem(key) {
    this.#items.delete(key);
  }
}

async function decodeImage({ width, height, rgba }) {
  // camera.js imports the UMD bundle as an ES module, where it finds no `module` and sets
  // `self.jsQR`. Node would load the file as CommonJS (it has no import/export), so it is
  // evaluated from a data: URL, which Node always treats as an ES module — strict mode and
  // all, as in the browser. Node has no `self`: the global object stands in.
  globalThis.self ??= globalThis;
  const source = await readFile(here("../../service/static/vendor/jsqr-1.4.0/jsQR.js"), "utf-8");
  await import(`data:text/javascript;base64,${Buffer.from(source).toString("base64")}`);
  if (typeof globalThis.jsQR !== "function") throw new Error("jsQR.js did not set self.jsQR");
  const pixels = new Uint8ClampedArray(Buffer.from(rgba, "base64"));
  const code = globalThis.jsQR(pixels, width, height, { inversionAttempts: "dontInvert" });
  return code ? code.data : null;
}

async function main() {
  const [path] = process.argv.slice(2);
  if (!path) throw new Error("usage: node verify_qr.mjs case.json");
  const input = JSON.parse(await readFile(path, "utf-8"));
  const { verifyQrText, loadTrust, TRUST_CACHE_KEY } = await import(
    here("../../service/static/js/qr-verify.js")
  );
  const out = {};
  let text = input.text;
  if (input.image) {
    text = out.decoded_text = await decodeImage(input.image);
  }
  let jwks = input.jwks;
  if (input.load_trust) {
    const storage = new MemoryStorage();
    if (input.load_trust.cached) {
      storage.setItem(TRUST_CACHE_KEY, JSON.stringify(input.load_trust.cached));
    }
    globalThis.localStorage = storage;
    try {
      jwks = out.trust = await loadTrust(input.load_trust.url);
    } catch (error) {
      out.trust = { error: error.message, reason_zh: error.reason_zh };
      jwks = { keys: [] };
    }
    out.stored = JSON.parse(storage.getItem(TRUST_CACHE_KEY));
  }
  out.verified = await verifyQrText(text, jwks, { at: input.at });
  process.stdout.write(JSON.stringify(out) + "\n");
}

main().catch((error) => {
  process.stderr.write(`verify_qr.mjs: ${error.stack || error}\n`);
  process.exit(1);
});
