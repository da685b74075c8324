// The verification page's camera path: read the QR in the browser, check its COSE
// signature here against the cached trust list (qr-verify.js), show the signed data —
// nothing is uploaded. The server check stays one tap away (the form posts the QR text).
import { startScanner } from "./camera.js";
import { loadTrust, verifyQrText } from "./qr-verify.js";

const LABELS = {
  zh: { holder: "持证人", id_hint: "证件号码", number: "证书编号", version: "版本",
        issued: "发证日期", valid_from: "有效期起", valid_to: "有效期至", review: "应复审日期",
        issuer: "发证机构", annotation: "加注", window: "加注有效期", scenario: "使用场景",
        stale: "（离线：使用缓存的可信名单）" },
  en: { holder: "Holder", id_hint: "ID number", number: "Number", version: "Version",
        issued: "Issued", valid_from: "Valid from", valid_to: "Valid to", review: "Review due",
        issuer: "Issuer", annotation: "Annotation", window: "Annotation window",
        scenario: "Scenario", stale: " (offline: cached trust list)" },
};

function row(list, label, value) {
  if (value === null || value === undefined || value === "") return;
  const dt = document.createElement("dt");
  dt.textContent = label;
  const dd = document.createElement("dd");
  dd.textContent = String(value);
  list.append(dt, dd);
}

function show(box, result) {
  const lang = box.dataset.lang === "en" ? "en" : "zh";
  const words = LABELS[lang];
  box.replaceChildren();
  box.hidden = false;
  box.className = result.ok ? "ok" : "bad";
  const title = document.createElement("h2");
  title.id = "offline-verdict";
  title.textContent = (result.ok ? box.dataset.ok : box.dataset.bad) +
    (result.offline ? words.stale : "");
  box.append(title);
  if (!result.ok) {
    const why = document.createElement("p");
    why.textContent = lang === "zh" ? (result.reason_zh || result.reason) : result.reason;
    box.append(why);
    return;
  }
  if (result.validity && !result.validity.in_force) {
    const note = document.createElement("p");
    note.id = "offline-validity";
    note.textContent = lang === "zh" ? result.validity.reason_zh : result.validity.reason;
    box.append(note);
  }
  const list = document.createElement("dl");
  list.id = "offline-data";
  const claims = result.claims || {};
  row(list, words.holder, claims.holder);
  row(list, words.id_hint, claims.id_masked);
  for (const key of ["number", "version", "issued", "valid_from", "valid_to", "review"]) {
    row(list, words[key], claims[key]);
  }
  row(list, words.issuer, result.issuer && result.issuer.name);
  if (result.annotation) {
    row(list, words.scenario, result.annotation.scenario);
    row(list, words.window, `${result.annotation.window_from} – ${result.annotation.window_to}`);
  }
  box.append(list);
}

const button = document.getElementById("scan");
if (button) {
  const video = document.getElementById("video");
  const canvas = document.getElementById("frame");
  const box = document.getElementById("offline");
  const form = document.getElementById("server-check");
  const scanned = document.getElementById("scanned");
  let stop = null;
  button.addEventListener("click", async () => {
    if (stop) { stop(); stop = null; video.hidden = true; return; }
    video.hidden = false;
    const jwks = loadTrust("/api/v1/trust-list/jwks.json");
    try {
      stop = await startScanner(video, canvas, async (text) => {
        if (stop) { stop(); stop = null; }
        video.hidden = true;
        scanned.value = text;
        form.hidden = false;
        try {
          show(box, await verifyQrText(text, await jwks));
        } catch (error) {  // no trust list: offline and never fetched
          show(box, { ok: false, reason: String(error.message || error),
                      reason_zh: error.reason_zh || String(error) });
        }
      });
    } catch (error) {
      video.hidden = true;
      show(box, { ok: false, reason: String(error), reason_zh: "无法打开摄像头：" + error });
    }
  });
}
