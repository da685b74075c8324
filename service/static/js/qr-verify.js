// Verify a certificate's signed QR payload in the browser: nothing is uploaded.
//
// The QR text is "EC1:" + base45( zlib(COSE_Sign1) or COSE_Sign1 ) — see
// docgen/qrpayload.py, the reference this module follows step by step (unpack, _sign1,
// verify_sign1, QRClaims / AnnotationClaims.from_cbor) — and the signature is ES256,
// checked with WebCrypto against a JWKS built from the issuers' trust lists
// (service/jwks.py). It runs unchanged in a browser and in Node 20 (the tests), which
// both have crypto.subtle, DecompressionStream and TextDecoder.

import { Decoder, Tag } from "../vendor/cbor-x-1.6.9/decode.js";
import { decode as base45Decode } from "../vendor/digitalbazaar-base45-1.0.0/index.js";

export const PREFIX = "EC1:";
/** localStorage key of the cached trust list (JWKS). */
export const TRUST_CACHE_KEY = "docgen.jwks";

const ALG_ES256 = -7; // COSE algorithm ECDSA P-256 / SHA-256
const HEADER_ALG = 1;
const HEADER_KID = 4;
const COSE_SIGN1_TAG = 18;
const ES256_SIGNATURE_BYTES = 64; // r || s, 32 bytes each
const MAX_PAYLOAD = 4096; // as docgen.qrpayload: a QR cannot hold more; refuse zip bombs
const ZLIB_FIRST_BYTE = 0x78; // a COSE_Sign1 (tag 18) starts 0xD2 instead
const DAY_MS = 86_400_000;
const FIRST_DAY = -719_162; // 0001-01-01 and 9999-12-31 in days since 1970-01-01: the range
const LAST_DAY = 2_932_896; // of Python's date, so both verifiers refuse the same payloads
const BEIJING_OFFSET_MS = 8 * 3_600_000; // certificate dates are Beijing calendar days

// Claim labels of the payload map (docgen.qrpayload.Claim).
const Claim = Object.freeze({
  KIND: 1,
  NUMBER: 2,
  VERSION: 3,
  HOLDER: 4,
  ID_HINT: 5,
  ISSUED: 6,
  VALID_FROM: 7,
  VALID_TO: 8,
  REVIEW: 9,
  STATUS_INDEX: 10,
  ANNOTATION: 11,
  SCENARIO: 12,
  WINDOW_FROM: 13,
  WINDOW_TO: 14,
});
const CLAIM_NAMES = Object.fromEntries(Object.entries(Claim).map(([k, v]) => [v, k.toLowerCase()]));

// Certificate kinds by their payload code (docgen.qrpayload.KIND_CODES; codes never change).
const KINDS_BY_CODE = Object.freeze({
  1: "rescuer",
  2: "skill",
  3: "safety-engineer",
  4: "special-ops",
  5: "safety-manager",
});

// Maps decode as Map (integer claim labels stay numbers); no records or other
// cbor-x extensions are asked for.
const cbor = new Decoder({ mapsAsObjects: false, useRecords: false });

/** Why a payload is refused: a stable code and the reason in English and Chinese. */
class Refusal extends Error {
  constructor(code, reason, reasonZh) {
    super(reason);
    this.code = code;
    this.reason_zh = reasonZh;
  }
}

function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function concat(parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

// -- unpacking: prefix, base45, zlib -------------------------------------------------

async function inflate(bytes) {
  // The platform's zlib (RFC 1950) decoder; stop reading once past the size limit.
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
  const reader = stream.getReader();
  const chunks = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > MAX_PAYLOAD) {
      await reader.cancel().catch(() => {});
      throw new Refusal(
        "too_large",
        `payload larger than ${MAX_PAYLOAD} bytes`,
        `数据超过 ${MAX_PAYLOAD} 字节，不是本系统的证书二维码`,
      );
    }
    chunks.push(value);
  }
  return concat(chunks);
}

/** The COSE_Sign1 bytes inside a QR text (docgen.qrpayload.unpack). */
async function unpack(text) {
  if (typeof text !== "string" || !text.trim().startsWith(PREFIX)) {
    throw new Refusal(
      "prefix",
      `not a docgen certificate code (no ${PREFIX} prefix)`,
      `不是本系统的电子证书二维码（缺少 ${PREFIX} 前缀）`,
    );
  }
  let body;
  try {
    body = base45Decode(text.trim().slice(PREFIX.length));
  } catch (error) {
    throw new Refusal(
      "base45",
      `not base45 (${error.message}); the code may be incomplete`,
      "二维码内容不是有效的 Base45 编码，可能读取不完整",
    );
  }
  if (body[0] !== ZLIB_FIRST_BYTE) return body;
  try {
    return await inflate(body);
  } catch (error) {
    if (error instanceof Refusal) throw error;
    throw new Refusal(
      "zlib",
      `damaged compressed payload (${error.message})`,
      "压缩数据已损坏，二维码可能读取不完整",
    );
  }
}

// -- COSE_Sign1 (RFC 9052 §4.2) ------------------------------------------------------

function notCose(detail) {
  return new Refusal(
    "cose",
    `not a COSE_Sign1 message (${detail})`,
    `不是有效的 COSE_Sign1 签名数据（${detail}）`,
  );
}

function decodeCbor(bytes, what) {
  try {
    return cbor.decode(bytes); // throws on truncated data and on bytes left over
  } catch (error) {
    throw notCose(`${what}: ${error.message}`);
  }
}

/** The parts of a tagged COSE_Sign1 message and its protected header map (not verified). */
function readSign1(cose) {
  const message = decodeCbor(cose, "message");
  // The tag is required: the Python verifier (cwt) refuses an untagged message too.
  if (!(message instanceof Tag) || message.tag !== COSE_SIGN1_TAG) {
    throw notCose("no CBOR tag 18");
  }
  const parts = message.value;
  if (!Array.isArray(parts) || parts.length !== 4) throw notCose("not an array of 4 items");
  const [protectedBytes, unprotected, payload, signature] = parts;
  if (!(protectedBytes instanceof Uint8Array) || !(unprotected instanceof Map)) {
    throw notCose("bad header");
  }
  if (!(payload instanceof Uint8Array)) throw notCose("no embedded payload");
  if (!(signature instanceof Uint8Array)) throw notCose("no signature");
  const header = protectedBytes.length ? decodeCbor(protectedBytes, "protected header") : new Map();
  if (!(header instanceof Map)) throw notCose("the protected header is not a map");
  return { protectedBytes, header, payload, signature };
}

// A CBOR item head (RFC 8949 §3): major type and length, shortest form (as cbor2 writes).
function cborHead(major, length) {
  const type = major << 5;
  if (length < 24) return Uint8Array.of(type | length);
  if (length < 0x100) return Uint8Array.of(type | 24, length);
  if (length < 0x10000) return Uint8Array.of(type | 25, length >> 8, length & 0xff);
  const out = new Uint8Array(5);
  out[0] = type | 26;
  new DataView(out.buffer).setUint32(1, length);
  return out;
}

const bstr = (bytes) => concat([cborHead(2, bytes.length), bytes]);

/** Sig_structure = ["Signature1", protected, external_aad = h'', payload] (RFC 9052 §4.4). */
function sigStructure(protectedBytes, payload) {
  const context = new TextEncoder().encode("Signature1");
  return concat([
    cborHead(4, 4),
    cborHead(3, context.length),
    context,
    bstr(protectedBytes),
    bstr(new Uint8Array(0)),
    bstr(payload),
  ]);
}

// -- trust: the JWKS from service/jwks.py --------------------------------------------

function findKey(jwks, kidHex) {
  const keys = jwks && Array.isArray(jwks.keys) ? jwks.keys : null;
  if (!keys) {
    throw new Refusal("trust", "the trust list is unusable (no keys)", "信任列表不可用（没有密钥）");
  }
  const jwk = keys.find((k) => k && typeof k.kid === "string" && k.kid.toLowerCase() === kidHex);
  if (!jwk) {
    throw new Refusal(
      "unknown_kid",
      `key id ${kidHex} is not in the trust list: not signed by a trusted issuer`,
      `密钥标识 ${kidHex} 不在信任列表中：不是可信发证机构签发的`,
    );
  }
  return jwk;
}

async function importKey(jwk) {
  if (jwk.kty !== "EC" || jwk.crv !== "P-256" || (jwk.alg !== undefined && jwk.alg !== "ES256")) {
    throw new Refusal(
      "trust",
      `trust-list key ${jwk.kid} is not an ES256 (P-256) key`,
      `信任列表中的密钥 ${jwk.kid} 不是 ES256（P-256）密钥`,
    );
  }
  // Only the key itself goes to WebCrypto; the list's own members (issuer, validity) stay here.
  const bare = { kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y, ext: true };
  try {
    const algorithm = { name: "ECDSA", namedCurve: "P-256" };
    return await crypto.subtle.importKey("jwk", bare, algorithm, false, ["verify"]);
  } catch (error) {
    throw new Refusal(
      "trust",
      `trust-list key ${jwk.kid} is unusable (${error.message})`,
      `信任列表中的密钥 ${jwk.kid} 无法使用`,
    );
  }
}

// -- claims (docgen.qrpayload.QRClaims / AnnotationClaims) ---------------------------

function malformed(detail) {
  return new Refusal("claims", `signed claims malformed: ${detail}`, `签名数据格式错误：${detail}`);
}

const isWhole = (v) => typeof v === "number" && Number.isSafeInteger(v);

function text(map, label) {
  const value = map.get(label);
  if (typeof value !== "string") throw malformed(`claim ${CLAIM_NAMES[label]} missing or not text`);
  return value;
}

function whole(map, label, required) {
  const value = map.get(label);
  if (value === undefined && !required) return null;
  if (!isWhole(value)) throw malformed(`claim ${CLAIM_NAMES[label]} missing or not a whole number`);
  return value;
}

// A day number (days since 1970-01-01) as "YYYY-MM-DD", within Python's date range.
function day(map, label, required = true) {
  const days = whole(map, label, required);
  if (days === null) return null;
  if (days < FIRST_DAY || days > LAST_DAY) {
    throw malformed(`claim ${CLAIM_NAMES[label]} is out of range`);
  }
  return new Date(days * DAY_MS).toISOString().slice(0, 10);
}

function kindOf(map) {
  const code = map.get(Claim.KIND);
  const kind = isWhole(code) ? KINDS_BY_CODE[code] : undefined;
  if (!kind) throw malformed(`unknown kind code ${String(code)}`);
  return kind;
}

/** What is shown of an ID number: first 6 and last 4 (docgen.qrpayload.masked). */
function masked(hint, length = 18) {
  const [head, tail] =
    hint.length >= 10 ? [hint.slice(0, 6), hint.slice(-4)] : [hint.slice(0, 2), hint.slice(-2)];
  return head + "*".repeat(Math.max(0, length - head.length - tail.length)) + tail;
}

function readClaims(payload) {
  let map;
  try {
    map = cbor.decode(payload);
  } catch (error) {
    throw malformed(`not CBOR (${error.message})`);
  }
  if (!(map instanceof Map)) throw malformed("not a CBOR map");
  const kind = kindOf(map);
  const number = text(map, Claim.NUMBER);
  const version = whole(map, Claim.VERSION, true);
  if (map.has(Claim.ANNOTATION)) {
    const windowFrom = day(map, Claim.WINDOW_FROM);
    const windowTo = day(map, Claim.WINDOW_TO);
    if (windowTo < windowFrom) throw malformed("the annotation window ends before it starts");
    const annotation = {
      number: text(map, Claim.ANNOTATION),
      scenario: text(map, Claim.SCENARIO),
      window_from: windowFrom,
      window_to: windowTo,
      certificate: { kind, number, version },
    };
    return { kind, claims: null, annotation };
  }
  const idHint = text(map, Claim.ID_HINT);
  const statusIndex = whole(map, Claim.STATUS_INDEX, false);
  if (statusIndex !== null && statusIndex < 0) {
    throw malformed("claim status_index is not a whole number");
  }
  const claims = {
    number,
    version,
    holder: text(map, Claim.HOLDER),
    id_hint: idHint,
    id_masked: masked(idHint),
    issued: day(map, Claim.ISSUED),
    valid_from: day(map, Claim.VALID_FROM, false),
    valid_to: day(map, Claim.VALID_TO, false),
    review: day(map, Claim.REVIEW, false),
    status_index: statusIndex,
  };
  return { kind, claims, annotation: null };
}

// -- dates ---------------------------------------------------------------------------

/** The calendar day an ISO time names in its own offset (as Python's datetime.date()). */
function isoDay(value) {
  if (typeof value !== "string" || !/^\d{4}-\d{2}-\d{2}/.test(value) || isNaN(Date.parse(value))) {
    return null;
  }
  return value.slice(0, 10);
}

/** The checked day as "YYYY-MM-DD": `at` as a day string, a Date or an ISO time
 * (its Beijing calendar day); today in Beijing by default. */
function checkedDay(at) {
  if (typeof at === "string" && /^\d{4}-\d{2}-\d{2}$/.test(at)) return at;
  const when = at === undefined || at === null ? new Date() : new Date(at);
  if (isNaN(when.getTime())) throw new TypeError(`at: not a day or a time: ${String(at)}`);
  return new Date(when.getTime() + BEIJING_OFFSET_MS).toISOString().slice(0, 10);
}

/** Whether the signed dates make the certificate (or the 加注) good on `today`
 * (as docgen verify's validity step). */
function validityOn(today, claims, annotation) {
  const result = (inForce, reason, reasonZh) => ({
    at: today,
    in_force: inForce,
    reason,
    reason_zh: reasonZh,
  });
  if (annotation) {
    const span = `${annotation.window_from} – ${annotation.window_to}`;
    if (today < annotation.window_from) {
      return result(false, `the 加注 is not yet valid: ${span}`, `加注尚未生效：${span}`);
    }
    if (today > annotation.window_to) {
      return result(false, `the 加注 expired on ${annotation.window_to} (${span})`, `加注已过期：${span}`);
    }
    return result(true, `the 加注 is valid on ${today} (${span})`, `加注在 ${today} 有效（${span}）`);
  }
  if (claims.issued > today) {
    return result(
      false,
      `issued ${claims.issued}, after the checked day ${today}`,
      `签发日期 ${claims.issued} 晚于查验日期 ${today}`,
    );
  }
  if (claims.valid_to && claims.valid_to < today) {
    return result(false, `expired on ${claims.valid_to}`, `证书已于 ${claims.valid_to} 过期`);
  }
  if (claims.review && claims.review < today) {
    return result(
      false,
      `review overdue: 应复审日期 ${claims.review} has passed`,
      `逾期未复审：应复审日期 ${claims.review} 已过`,
    );
  }
  const until = claims.valid_to ? `until ${claims.valid_to}` : "without an end date";
  const untilZh = claims.valid_to ? `有效期至 ${claims.valid_to}` : "长期有效";
  return result(
    true,
    `in force on ${today} (issued ${claims.issued}, ${until})`,
    `${today} 在有效期内（签发 ${claims.issued}，${untilZh}）`,
  );
}

/** Whether the signing key was valid on the day the payload was signed: the issue date, or
 * for a 加注 the first day of its window (the day it was made). */
function keyValidity(jwk, signedOn) {
  const from = isoDay(jwk.not_before);
  const to = isoDay(jwk.not_after);
  if (from && to && from <= signedOn && signedOn <= to) return null;
  const span = from && to ? `${from} – ${to}` : "no validity in the trust list";
  return new Refusal(
    "key_validity",
    `the key was not valid on the issue date ${signedOn} (${span})`,
    `签发日期 ${signedOn} 不在签名密钥的有效期内（${from && to ? span : "信任列表未给出有效期"}）`,
  );
}

// -- the verifier --------------------------------------------------------------------

/**
 * Verify a QR text against a JWKS. Never throws for a bad code: the result says why.
 *
 * @param {string} text the text read from the QR code
 * @param {{keys: object[]}} jwks the trusted keys (service/jwks.py)
 * @param {{at?: string|Date}} options the day to check validity on ("YYYY-MM-DD", a Date or
 *   an ISO time); today (Beijing) by default
 * @returns {Promise<object>} `ok` (authentic: trusted key, signature valid, key valid on
 *   the issue date), `code`/`reason`/`reason_zh` when not, `kid`, `issuer`, `kind`,
 *   `claims` (a certificate's) or `annotation` (a 加注's), `key_valid_on_issue`, and
 *   `validity` (in force on the checked day; set only when the signature verified).
 */
export async function verifyQrText(text, jwks, { at } = {}) {
  const today = checkedDay(at);
  const result = {
    ok: false,
    code: null,
    reason: null,
    reason_zh: null,
    kid: null,
    issuer: null,
    kind: null,
    claims: null,
    annotation: null,
    key_valid_on_issue: false,
    validity: null,
  };
  try {
    const { protectedBytes, header, payload, signature } = readSign1(await unpack(text));
    const alg = header.get(HEADER_ALG);
    if (alg !== ALG_ES256) {
      throw new Refusal(
        "alg",
        `signature algorithm ${String(alg)} is not ES256 (-7)`,
        `签名算法 ${String(alg)} 不是 ES256`,
      );
    }
    const kid = header.get(HEADER_KID);
    if (!(kid instanceof Uint8Array)) {
      throw notCose("no key id in the protected header");
    }
    result.kid = hex(kid);
    const jwk = findKey(jwks, result.kid);
    result.issuer = jwk.issuer ?? null;
    const key = await importKey(jwk);
    const valid =
      signature.length === ES256_SIGNATURE_BYTES &&
      (await crypto.subtle.verify(
        { name: "ECDSA", hash: "SHA-256" },
        key,
        signature,
        sigStructure(protectedBytes, payload),
      ));
    if (!valid) {
      throw new Refusal(
        "signature",
        "signature does not verify: the data was altered or not signed by this issuer",
        "签名验证失败：数据已被篡改，或并非该发证机构签发",
      );
    }
    // Signed data from here on: shown even when the key-validity check below fails.
    const { kind, claims, annotation } = readClaims(payload);
    Object.assign(result, { kind, claims, annotation });
    const refusal = keyValidity(jwk, claims ? claims.issued : annotation.window_from);
    result.key_valid_on_issue = refusal === null;
    result.validity = validityOn(today, claims, annotation);
    if (refusal) throw refusal;
    result.ok = true;
  } catch (error) {
    if (!(error instanceof Refusal)) throw error; // a bug, not a bad code
    Object.assign(result, { code: error.code, reason: error.message, reason_zh: error.reason_zh });
  }
  return result;
}

// -- the cached trust list -----------------------------------------------------------

function usableJwks(value) {
  return (
    value !== null &&
    typeof value === "object" &&
    Array.isArray(value.keys) &&
    value.keys.every((k) => k && k.kty === "EC" && typeof k.kid === "string")
  );
}

function readCache() {
  try {
    const cached = JSON.parse(globalThis.localStorage?.getItem(TRUST_CACHE_KEY) ?? "null");
    return cached && usableJwks(cached.jwks) && typeof cached.fetched === "string" ? cached : null;
  } catch {
    return null; // storage disabled or a damaged entry: as if nothing were cached
  }
}

/**
 * The trusted keys: fetched from `url` (a JWKS) and cached in localStorage, or, when the
 * fetch fails (offline, server error, not a JWKS), the copy cached last time.
 *
 * @returns {Promise<object>} the JWKS, ready for verifyQrText, with two members of its
 *   own (RFC 7517 §5 lets a JWK Set carry more): `fetched`, when it was fetched (ISO time),
 *   and `offline`, true for the cached copy — the page should say so, since an old copy
 *   may still trust a key withdrawn since.
 * @throws {Error} neither the fetch nor the cache gave a trust list (`reason_zh` set)
 */
export async function loadTrust(url) {
  let problem;
  try {
    // no-cache: revalidate with the server, so a withdrawn key is not kept by the HTTP cache
    const response = await fetch(url, { cache: "no-cache" });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const jwks = await response.json();
    if (!usableJwks(jwks)) throw new Error("the response is not a JWKS");
    const fetched = new Date().toISOString();
    try {
      globalThis.localStorage?.setItem(TRUST_CACHE_KEY, JSON.stringify({ fetched, jwks }));
    } catch {
      // storage full or disabled: verification still works, only not offline next time
    }
    return { ...jwks, fetched, offline: false };
  } catch (error) {
    problem = error;
  }
  const cached = readCache();
  if (cached) return { ...cached.jwks, fetched: cached.fetched, offline: true };
  const failure = new Error(
    `the trust list could not be loaded (${problem.message}) and no copy is cached`,
  );
  failure.reason_zh = "无法获取信任列表，本机也没有缓存的副本：请联网后重试";
  throw failure;
}
