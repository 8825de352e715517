/**
 * Signature thresholds: every supported key type verifies, each distinct key counts once
 * whatever its key IDs or encodings (go-tuf GHSA-3633-5h82-39pq), and nothing malformed counts.
 */

import assert from "node:assert/strict";
import { isCosignError } from "../../../lib/errors.ts";
import { encodeTufCanonicalJson } from "../../../lib/trust/tuf/canonical_json.ts";
import { parseTufMetadata } from "../../../lib/trust/tuf/metadata.ts";
import { countSignatures, verifyThreshold } from "../../../lib/trust/tuf/verify.ts";
import { ecdsaDerToRaw as strictDerToRaw } from "../../../lib/util/der.ts";
import { ecdsaRawToDer } from "../../../server/tuf/keys.ts";
import { fc } from "../../_deps.ts";

type Signer = (data: Uint8Array<ArrayBuffer>) => Promise<string>;
interface TestKey {
  readonly json: { keytype: string; scheme: string; keyval: { public: string } };
  readonly sign: Signer;
}

const pem = (spki: ArrayBuffer) =>
  `-----BEGIN PUBLIC KEY-----\n${
    new Uint8Array(spki).toBase64().match(/.{1,64}/g)!.join("\n")
  }\n-----END PUBLIC KEY-----\n`;

async function ecdsaKey(curve: "P-256" | "P-384", encoding: "hex" | "pem"): Promise<
  TestKey & {
    pair: CryptoKeyPair;
  }
> {
  const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: curve }, true, [
    "sign",
    "verify",
  ]) as CryptoKeyPair;
  const hash = curve === "P-256" ? "SHA-256" : "SHA-384";
  const scheme = curve === "P-256" ? "ecdsa-sha2-nistp256" : "ecdsa-sha2-nistp384";
  const publicKey = encoding === "hex"
    ? new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey)).toHex()
    : pem(await crypto.subtle.exportKey("spki", pair.publicKey));
  return {
    pair,
    json: { keytype: encoding === "hex" ? scheme : "ecdsa", scheme, keyval: { public: publicKey } },
    sign: async (data) =>
      ecdsaRawToDer(
        new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash }, pair.privateKey, data)),
      ).toHex(),
  };
}

async function ed25519Key(): Promise<TestKey> {
  const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, true, [
    "sign",
    "verify",
  ]) as CryptoKeyPair;
  const raw = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey)).toHex();
  return {
    json: { keytype: "ed25519", scheme: "ed25519", keyval: { public: raw } },
    sign: async (data) =>
      new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, pair.privateKey, data)).toHex(),
  };
}

async function rsaKey(scheme: "rsassa-pss-sha256" | "rsa-pkcs1v15-sha256", saltLength = 32) {
  const name = scheme === "rsassa-pss-sha256" ? "RSA-PSS" : "RSASSA-PKCS1-v1_5";
  const pair = await crypto.subtle.generateKey(
    { name, modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
    true,
    ["sign", "verify"],
  ) as CryptoKeyPair;
  return {
    json: {
      keytype: "rsa",
      scheme,
      keyval: { public: pem(await crypto.subtle.exportKey("spki", pair.publicKey)) },
    },
    sign: async (data: Uint8Array<ArrayBuffer>) =>
      new Uint8Array(await crypto.subtle.sign({ name, saltLength }, pair.privateKey, data))
        .toHex(),
  } satisfies TestKey;
}

const SIGNED = {
  _type: "timestamp",
  spec_version: "1.0",
  version: 7,
  expires: "2030-01-01T00:00:00Z",
  meta: { "snapshot.json": { version: 3 } },
};

/** Timestamp metadata signed as `signers` say, and the role `{keyids, threshold}` to check. */
async function signedBy(signers: [keyid: string, key: TestKey][], signed = SIGNED) {
  const bytes = encodeTufCanonicalJson(signed);
  const signatures = [];
  for (const [keyid, key] of signers) signatures.push({ keyid, sig: await key.sign(bytes) });
  return parseTufMetadata(
    new TextEncoder().encode(JSON.stringify({ signed, signatures })),
    "timestamp",
  );
}

Deno.test("countSignatures() verifies every supported key type and scheme", async () => {
  const keys: [string, TestKey][] = [
    ["ecdsa P-256 hex", await ecdsaKey("P-256", "hex")],
    ["ecdsa P-256 PEM", await ecdsaKey("P-256", "pem")],
    ["ecdsa P-384 PEM", await ecdsaKey("P-384", "pem")],
    ["ed25519", await ed25519Key()],
    ["rsassa-pss-sha256, salt = digest length", await rsaKey("rsassa-pss-sha256", 32)],
    ["rsassa-pss-sha256, longest salt", await rsaKey("rsassa-pss-sha256", 256 - 32 - 2)],
    ["rsa-pkcs1v15-sha256", await rsaKey("rsa-pkcs1v15-sha256")],
  ];
  for (const [what, key] of keys) {
    const metadata = await signedBy([["id", key]]);
    const result = await countSignatures(
      metadata,
      { keyids: ["id"], threshold: 1 },
      new Map([["id", { keyid: "id", ...key.json, public: key.json.keyval.public }]]),
    );
    assert.equal(result.valid, 1, what);
  }
});

function keyMap(entries: [string, TestKey][]) {
  return new Map(
    entries.map(([keyid, key]) => [keyid, {
      keyid,
      keytype: key.json.keytype,
      scheme: key.json.scheme,
      public: key.json.keyval.public,
    }]),
  );
}

Deno.test("verifyThreshold() counts one key listed under two key IDs once (TRUST_TUF_THRESHOLD)", async () => {
  const key = await ed25519Key();
  const metadata = await signedBy([["a", key], ["b", key]]);
  const keys = keyMap([["a", key], ["b", key]]);
  assert.equal(
    (await countSignatures(metadata, { keyids: ["a", "b"], threshold: 2 }, keys)).valid,
    1,
  );
  await assert.rejects(
    verifyThreshold(metadata, { keyids: ["a", "b"], threshold: 2 }, keys, "timestamp"),
    (e) => isCosignError(e, "TRUST_TUF_THRESHOLD"),
  );
});

Deno.test("verifyThreshold() counts one ECDSA key once when listed as a hex point and as PEM", async () => {
  const hex = await ecdsaKey("P-256", "hex");
  const asPem: TestKey = {
    json: {
      keytype: "ecdsa",
      scheme: "ecdsa-sha2-nistp256",
      keyval: { public: pem(await crypto.subtle.exportKey("spki", hex.pair.publicKey)) },
    },
    sign: hex.sign,
  };
  const metadata = await signedBy([["hex", hex], ["pem", asPem]]);
  const role = { keyids: ["hex", "pem"], threshold: 2 };
  await assert.rejects(
    verifyThreshold(metadata, role, keyMap([["hex", hex], ["pem", asPem]]), "timestamp"),
    (e) => isCosignError(e, "TRUST_TUF_THRESHOLD"),
  );
  const other = await ecdsaKey("P-256", "pem");
  const two = await signedBy([["hex", hex], ["other", other]]);
  await verifyThreshold(
    two,
    { keyids: ["hex", "other"], threshold: 2 },
    keyMap([["hex", hex], [
      "other",
      other,
    ]]),
    "timestamp",
  );
});

Deno.test("countSignatures() ignores signatures of keys outside the role, over other bytes, empty or not hex", async () => {
  const inRole = await ed25519Key();
  const outside = await ed25519Key();
  const keys = keyMap([["in", inRole], ["out", outside]]);
  const role = { keyids: ["in"], threshold: 1 };
  assert.equal((await countSignatures(await signedBy([["out", outside]]), role, keys)).valid, 0);
  const otherBytes = await signedBy([["in", inRole]], { ...SIGNED, version: 8 });
  const replayed = { ...await signedBy([["in", inRole]]), signatures: otherBytes.signatures };
  assert.equal((await countSignatures(replayed, role, keys)).valid, 0);
  for (const sig of ["", "zz", "00".repeat(64)]) {
    const metadata = { ...await signedBy([]), signatures: [{ keyid: "in", sig }] };
    assert.equal((await countSignatures(metadata, role, keys)).valid, 0, JSON.stringify(sig));
  }
  // A role naming a key the metadata does not list, or a key type nobody supports.
  assert.equal((await countSignatures(await signedBy([["in", inRole]]), role, new Map())).valid, 0);
  const odd = new Map([["in", { keyid: "in", keytype: "x-odd", scheme: "x", public: "00" }]]);
  assert.equal((await countSignatures(await signedBy([["in", inRole]]), role, odd)).valid, 0);
});

Deno.test("countSignatures() refuses a key whose type names another curve than its scheme", async () => {
  const key = await ecdsaKey("P-256", "hex");
  const metadata = await signedBy([["k", key]]);
  const keys = new Map([["k", {
    keyid: "k",
    keytype: "ecdsa-sha2-nistp384",
    scheme: "ecdsa-sha2-nistp256",
    public: key.json.keyval.public,
  }]]);
  assert.equal((await countSignatures(metadata, { keyids: ["k"], threshold: 1 }, keys)).valid, 0);
});

/** The library's strict converter, undefined where it throws (as the TUF verifier reads it). */
function ecdsaDerToRaw(der: Uint8Array, size: number): Uint8Array | undefined {
  try {
    return strictDerToRaw(der, size);
  } catch {
    return undefined;
  }
}

Deno.test("ecdsaDerToRaw() inverts DER encoding of any r||s (property) and refuses non-DER", () => {
  fc.assert(fc.property(fc.uint8Array({ minLength: 64, maxLength: 64 }), (raw) => {
    assert.deepEqual(ecdsaDerToRaw(ecdsaRawToDer(raw), 32), raw);
  }));
  const bad = [
    "", // empty
    "3006020101020101ff", // trailing byte
    "300602020001020101", // non-minimal r
    "3007020200800201", // s cut short
    "30060201ff020101", // negative r
    "3106020101020101", // not a SEQUENCE
    "3008020101020101", // outer length past the end
    "30040200020101", // empty integer
  ];
  for (const hex of bad) assert.equal(ecdsaDerToRaw(Uint8Array.fromHex(hex), 32), undefined, hex);
  const long = new Uint8Array(70).fill(1);
  assert.equal(ecdsaDerToRaw(ecdsaRawToDer(long), 32), undefined);
});
