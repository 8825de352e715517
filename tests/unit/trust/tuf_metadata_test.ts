/**
 * Strict parsing of TUF metadata: exact RFC 3339 expiry, and every malformed or oversized form
 * refused with its code before anything is verified.
 */

import assert from "node:assert/strict";
import { isCosignError } from "../../../lib/errors.ts";
import {
  parseTufMetadata,
  parseTufTime,
  TUF_COUNT_LIMITS,
} from "../../../lib/trust/tuf/metadata.ts";

const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

function role(keyids: string[] = ["k1"], threshold = 1) {
  return { keyids, threshold };
}

function rootSigned(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    _type: "root",
    spec_version: "1.0.31",
    version: 1,
    expires: "2030-01-01T00:00:00Z",
    consistent_snapshot: true,
    keys: {
      k1: { keytype: "ed25519", scheme: "ed25519", keyval: { public: "00".repeat(32) } },
    },
    roles: { root: role(), timestamp: role(), snapshot: role(), targets: role() },
    ...overrides,
  };
}

const envelope = (signed: unknown, signatures: unknown = []) => encode({ signatures, signed });

Deno.test("parseTufTime() reads RFC 3339 exactly, fractions and offsets included", () => {
  const cases: [string, number][] = [
    ["2026-08-28T19:25:56Z", Date.UTC(2026, 7, 28, 19, 25, 56)],
    // Sigstore root v1: 13:28:12.99008 at UTC-6 is 19:28:12.99008 UTC.
    ["2021-12-18T13:28:12.99008-06:00", Date.UTC(2021, 11, 18, 19, 28, 12) + 990.08],
    ["2022-05-11T19:09:02.663975009Z", Date.UTC(2022, 4, 11, 19, 9, 2) + 663.975009],
    ["2024-02-29T23:59:59+01:30", Date.UTC(2024, 1, 29, 22, 29, 59)],
    ["0001-01-01T00:00:00Z", -62135596800000],
  ];
  for (const [text, ms] of cases) assert.ok(Math.abs(parseTufTime(text) - ms) < 1e-3, text);
  const bad = [
    "2026-08-28 19:25:56Z",
    "2026-08-28T19:25:56",
    "2026-02-30T00:00:00Z",
    "2025-02-29T00:00:00Z",
    "2026-13-01T00:00:00Z",
    "2026-01-01T24:00:00Z",
    "2026-01-01T00:00:60Z",
    "2026-01-01T00:00:00.Z",
    "2026-01-01T00:00:00.1234567890Z",
    "2026-01-01T00:00:00+24:00",
    "2026-01-01t00:00:00z",
    "",
  ];
  for (const text of bad) assert.throws(() => parseTufTime(text), SyntaxError, text);
});

Deno.test("parseTufMetadata() reads a minimal root and keeps unknown fields in the signed bytes", () => {
  const signed = rootSigned({ "x-custom": "kept" });
  const root = parseTufMetadata(envelope(signed), "root");
  assert.equal(root.signed.version, 1);
  assert.equal(root.signed.consistentSnapshot, true);
  assert.equal(root.signed.keys.get("k1")?.keytype, "ed25519");
  assert.match(new TextDecoder().decode(root.signedBytes), /"x-custom":"kept"/);
});

Deno.test("parseTufMetadata() refuses malformed metadata with TRUST_TUF_METADATA_INVALID", () => {
  const cases: [string, Uint8Array][] = [
    ["not JSON", new TextEncoder().encode("{")],
    ["not UTF-8", new Uint8Array([0x7b, 0xff, 0x7d])],
    // A byte order mark is not JSON (RFC 8259 section 8.1), though a UTF-8 decoder drops it.
    ["a byte order mark", new Uint8Array([0xef, 0xbb, 0xbf, ...envelope(rootSigned())])],
    [
      "a duplicate key",
      new TextEncoder().encode(
        `{"signatures":[],"signed":${
          JSON.stringify(rootSigned()).replace('"version":1', '"version":1,"version":2')
        }}`,
      ),
    ],
    [
      "a float",
      new TextEncoder().encode(
        `{"signatures":[],"signed":${
          JSON.stringify(rootSigned()).replace('"version":1', '"version":1.0')
        }}`,
      ),
    ],
    ["the wrong _type", envelope(rootSigned({ _type: "targets" }))],
    ["spec_version 2", envelope(rootSigned({ spec_version: "2.0.0" }))],
    ["spec_version junk", envelope(rootSigned({ spec_version: "1" }))],
    ["version 0", envelope(rootSigned({ version: 0 }))],
    ["version as text", envelope(rootSigned({ version: "1" }))],
    ["an inexact expiry", envelope(rootSigned({ expires: "2030-01-01" }))],
    [
      "a threshold of 0",
      envelope(
        rootSigned({ roles: { ...rootSigned().roles as object, timestamp: role(["k1"], 0) } }),
      ),
    ],
    [
      "a negative threshold",
      envelope(rootSigned({ roles: { ...rootSigned().roles as object, root: role(["k1"], -1) } })),
    ],
    [
      "a role listing a key ID twice",
      envelope(
        rootSigned({ roles: { ...rootSigned().roles as object, root: role(["k1", "k1"], 2) } }),
      ),
    ],
    [
      "a missing role",
      envelope(rootSigned({ roles: { root: role(), timestamp: role(), snapshot: role() } })),
    ],
    [
      "an extra role",
      envelope(rootSigned({ roles: { ...rootSigned().roles as object, mirrors: role() } })),
    ],
    [
      "a key without keyval",
      envelope(rootSigned({ keys: { k1: { keytype: "ed25519", scheme: "ed25519" } } })),
    ],
    [
      "signatures naming a key ID twice",
      envelope(rootSigned(), [{ keyid: "k1", sig: "00" }, { keyid: "k1", sig: "01" }]),
    ],
    ["a signature that is not a string", envelope(rootSigned(), [{ keyid: "k1", sig: 1 }])],
    ["no signed part", encode({ signatures: [] })],
  ];
  for (const [what, bytes] of cases) {
    assert.throws(
      () => parseTufMetadata(bytes, "root"),
      (e) => isCosignError(e, "TRUST_TUF_METADATA_INVALID"),
      what,
    );
  }
});

Deno.test("parseTufMetadata() refuses too many keys, signatures, targets or delegations with TRUST_TUF_TOO_LARGE", () => {
  const key = { keytype: "ed25519", scheme: "ed25519", keyval: { public: "00".repeat(32) } };
  const manyKeys = Object.fromEntries(
    Array.from({ length: TUF_COUNT_LIMITS.keys + 1 }, (_, i) => [`k${i}`, key]),
  );
  const manySignatures = Array.from(
    { length: TUF_COUNT_LIMITS.signatures + 1 },
    (_, i) => ({ keyid: `k${i}`, sig: "" }),
  );
  const targets = (n: number) =>
    Object.fromEntries(
      Array.from({ length: n }, (_, i) => [`t${i}`, { length: 1, hashes: { sha256: "00" } }]),
    );
  const targetsSigned = {
    _type: "targets",
    spec_version: "1.0",
    version: 1,
    expires: "2030-01-01T00:00:00Z",
    targets: targets(TUF_COUNT_LIMITS.targets + 1),
  };
  const cases: [string, Uint8Array, "root" | "targets"][] = [
    ["keys", envelope(rootSigned({ keys: manyKeys })), "root"],
    ["signatures", envelope(rootSigned(), manySignatures), "root"],
    [
      "role key IDs",
      envelope(
        rootSigned({
          roles: {
            ...rootSigned().roles as object,
            root: role(Array.from({ length: 300 }, (_, i) => `k${i}`)),
          },
        }),
      ),
      "root",
    ],
    ["targets", envelope(targetsSigned), "targets"],
  ];
  for (const [what, bytes, type] of cases) {
    assert.throws(
      () => parseTufMetadata(bytes, type),
      (e) => isCosignError(e, "TRUST_TUF_TOO_LARGE"),
      what,
    );
  }
});

Deno.test("parseTufMetadata() checks delegations for form (threshold >= 1, unique names) though the client never follows them", () => {
  const targets = (delegations: unknown) =>
    envelope({
      _type: "targets",
      spec_version: "1.0",
      version: 1,
      expires: "2030-01-01T00:00:00Z",
      targets: { "a.json": { length: 2, hashes: { sha256: "ab" } } },
      delegations,
    });
  const delegated = (threshold: number, name = "npm") => ({
    name,
    keyids: ["k"],
    threshold,
    terminating: true,
    paths: ["npm/*"],
  });
  const ok = parseTufMetadata(targets({ keys: {}, roles: [delegated(1)] }), "targets");
  assert.equal(ok.signed.delegations?.roles[0]?.name, "npm");
  for (
    const bad of [
      { keys: {}, roles: [delegated(0)] },
      { keys: {}, roles: [delegated(1), delegated(1)] },
      { keys: {}, roles: [{ ...delegated(1), path_hash_prefixes: ["ab"] }] },
      { roles: [] },
    ]
  ) {
    assert.throws(
      () => parseTufMetadata(targets(bad), "targets"),
      (e) => isCosignError(e, "TRUST_TUF_METADATA_INVALID"),
    );
  }
});

Deno.test("parseTufMetadata() refuses a timestamp without snapshot.json and hashes that are not hex", () => {
  const timestamp = (meta: unknown) =>
    envelope({
      _type: "timestamp",
      spec_version: "1.0",
      version: 1,
      expires: "2030-01-01T00:00:00Z",
      meta,
    });
  assert.equal(
    parseTufMetadata(timestamp({ "snapshot.json": { version: 3 } }), "timestamp").signed.snapshot
      .version,
    3,
  );
  for (
    const meta of [{}, { "snapshot.json": { version: 3, hashes: { sha256: "xyz" } } }, {
      "snapshot.json": { version: 3, hashes: {} },
    }, { "snapshot.json": { version: 3, length: -1 } }]
  ) {
    assert.throws(
      () => parseTufMetadata(timestamp(meta), "timestamp"),
      (e) => isCosignError(e, "TRUST_TUF_METADATA_INVALID"),
    );
  }
});
