import assert from "node:assert/strict";
import { fc } from "../../_deps.ts";
import { INTEROP, readInteropText, requireComponents } from "../../_support.ts";
import { type Bytes, sha256, toBase64 } from "../../../lib/util/bytes.ts";
import {
  encodeCheckpointBody,
  MAX_NOTE_SIGNATURES,
  noteKeyId,
  parseCheckpoint,
  signCheckpoint,
  verifyCheckpoint,
} from "../../../lib/tlog/checkpoint.ts";
import { isCosignError } from "../../../lib/errors.ts";
import { generateKeyPair } from "../../../lib/keys/private_key.ts";
import { findLogs, parseTrustedRoot, type TrustedLog } from "../../../lib/trust/trusted_root.ts";

const ROOT = new Uint8Array(32).fill(7) as Bytes;

function rejects(code: string) {
  return (error: unknown) => {
    assert.ok(isCosignError(error), `expected a CosignError, got ${error}`);
    assert.equal(error.code, code, error.message);
    return true;
  };
}

Deno.test("parseCheckpoint() reads origin, size, root, extensions and signature lines", () => {
  const text = "rekor.example - 42\n10\n" + toBase64(ROOT) +
    "\nTimestamp: 1\n\n\u2014 rekor.example AQIDBAUG\n\u2014 witness/x AAAAAAAA\n";
  const checkpoint = parseCheckpoint(text);
  assert.equal(checkpoint.origin, "rekor.example - 42");
  assert.equal(checkpoint.treeSize, 10n);
  assert.deepEqual(checkpoint.rootHash, ROOT);
  assert.deepEqual(checkpoint.extensions, ["Timestamp: 1"]);
  assert.equal(checkpoint.body, `rekor.example - 42\n10\n${toBase64(ROOT)}\nTimestamp: 1\n`);
  assert.equal(checkpoint.signatures.length, 2);
  assert.equal(checkpoint.signatures[0]!.name, "rekor.example");
  assert.deepEqual([...checkpoint.signatures[0]!.keyId], [1, 2, 3, 4]);
  assert.deepEqual([...checkpoint.signatures[0]!.signature], [5, 6]);
});

Deno.test("parseCheckpoint() refuses malformed notes with REKOR_CHECKPOINT_MALFORMED", () => {
  const root = toBase64(ROOT);
  const sig = "\u2014 log AQIDBAUG\n";
  const bad: [string, string][] = [
    ["no trailing newline", `o\n1\n${root}\n\n\u2014 log AQIDBAUG`],
    ["no blank line", `o\n1\n${root}\n${sig}`],
    ["missing origin", `1\n${root}\n\n${sig}`],
    ["missing size", `o\n${root}\n\n${sig}`],
    ["size with a leading zero", `o\n01\n${root}\n\n${sig}`],
    ["negative size", `o\n-1\n${root}\n\n${sig}`],
    ["size of 2^64", `o\n18446744073709551616\n${root}\n\n${sig}`],
    ["short root", `o\n1\n${toBase64(ROOT.subarray(1))}\n\n${sig}`],
    [
      "url-safe root",
      `o\n1\n${toBase64(new Uint8Array(32).fill(0xfb)).replaceAll("+", "-")}\n\n${sig}`,
    ],
    ["blank body line", `o\n\n1\n${root}\n\n${sig}`],
    ["carriage return", `o\r\n1\n${root}\n\n${sig}`],
    ["no signatures", `o\n1\n${root}\n\n`],
    ["hyphen instead of em dash", `o\n1\n${root}\n\n- log AQIDBAUG\n`],
    ["signer name with a plus", `o\n1\n${root}\n\n\u2014 a+b AQIDBAUG\n`],
    ["no key ID", `o\n1\n${root}\n\n\u2014 log AQID\n`],
    ["signature not base64", `o\n1\n${root}\n\n\u2014 log !!!!\n`],
    ["too many signatures", `o\n1\n${root}\n\n${sig.repeat(MAX_NOTE_SIGNATURES + 1)}`],
    ["huge text", `o\n1\n${root}\n${"x\n".repeat(40_000)}\n${sig}`],
  ];
  for (const [what, text] of bad) {
    assert.throws(() => parseCheckpoint(text), rejects("REKOR_CHECKPOINT_MALFORMED"), what);
  }
});

Deno.test("signCheckpoint() and verifyCheckpoint() round-trip Rekor v1 ECDSA and C2SP Ed25519 notes", async () => {
  const ecdsa = await generateKeyPair({ kind: "ecdsa-p256" });
  const v1 = await signCheckpoint(
    { origin: "127.0.0.1:3000 - 77", treeSize: 5n, rootHash: ROOT, extensions: ["Timestamp: 9"] },
    ecdsa,
  );
  assert.match(v1, /^127\.0\.0\.1:3000 - 77\n5\n.*\nTimestamp: 9\n\n\u2014 127\.0\.0\.1:3000 /s);
  const parsed = await verifyCheckpoint(v1, { key: ecdsa.publicKey, baseUrl: "http://x" });
  assert.deepEqual(parsed.signatures[0]!.keyId, sha256(ecdsa.publicKey.spki).slice(0, 4));

  const ed = await generateKeyPair({ kind: "ed25519" });
  const v2 = await signCheckpoint({ origin: "log.example", treeSize: 9n, rootHash: ROOT }, ed);
  await verifyCheckpoint(v2, { key: ed.publicKey, baseUrl: "https://log.example" });
  // A witness line added after the log's own line is ignored.
  const witnessed = `${v2}\u2014 witness.example ${toBase64(new Uint8Array(68))}\n`;
  await verifyCheckpoint(witnessed, { key: ed.publicKey, baseUrl: "https://log.example" });
});

Deno.test("verifyCheckpoint() rejects a checkpoint signed by another key", async () => {
  const log = await generateKeyPair();
  const other = await generateKeyPair();
  const text = await signCheckpoint({ origin: "log - 1", treeSize: 1n, rootHash: ROOT }, other);
  await assert.rejects(
    verifyCheckpoint(text, { key: log.publicKey, baseUrl: "https://log" }),
    rejects("REKOR_CHECKPOINT_INVALID"),
  );
  // Same key ID, wrong signature: the key ID is a hint, never a proof.
  const forged = text.replace(
    /\u2014 log (\S+)\n$/,
    (_, blob: string) => {
      const bytes = Uint8Array.fromBase64(blob);
      bytes.set(sha256(log.publicKey.spki).slice(0, 4));
      return `\u2014 log ${toBase64(bytes)}\n`;
    },
  );
  await assert.rejects(
    verifyCheckpoint(forged, { key: log.publicKey, baseUrl: "https://log" }),
    rejects("REKOR_CHECKPOINT_INVALID"),
  );
});

Deno.test("verifyCheckpoint() rejects a checkpoint of another origin", async () => {
  const ed = await generateKeyPair({ kind: "ed25519" });
  const other = await signCheckpoint({ origin: "evil.example", treeSize: 3n, rootHash: ROOT }, ed);
  await assert.rejects(
    verifyCheckpoint(other, { key: ed.publicKey, baseUrl: "https://log.example" }),
    rejects("REKOR_CHECKPOINT_INVALID"),
  );
  const ecdsa = await generateKeyPair();
  const v1 = await signCheckpoint({ origin: "log - 2", treeSize: 3n, rootHash: ROOT }, ecdsa);
  await verifyCheckpoint(v1, { key: ecdsa.publicKey, baseUrl: "https://log" }, {
    origin: "log - 2",
  });
  await assert.rejects(
    verifyCheckpoint(v1, { key: ecdsa.publicKey, baseUrl: "https://log" }, { origin: "log - 1" }),
    rejects("REKOR_CHECKPOINT_INVALID"),
  );
  // A v1 signature line must be named after the origin's host.
  const renamed = await signCheckpoint(
    { origin: "log - 2", treeSize: 3n, rootHash: ROOT },
    ecdsa,
    { name: "other" },
  );
  await assert.rejects(
    verifyCheckpoint(renamed, { key: ecdsa.publicKey, baseUrl: "https://log" }),
    rejects("REKOR_CHECKPOINT_INVALID"),
  );
});

Deno.test("verifyCheckpoint() accepts the checkpoint key ID a trusted root states", async () => {
  const key = await generateKeyPair();
  const body = encodeCheckpointBody({ origin: "log - 9", treeSize: 2n, rootHash: ROOT });
  const stated = new Uint8Array([9, 8, 7, 6, 5]);
  const signature = await key.sign(new TextEncoder().encode(body));
  const text = `${body}\n\u2014 log ${
    toBase64(new Uint8Array([...stated.subarray(0, 4), ...signature]))
  }\n`;
  await verifyCheckpoint(text, {
    key: key.publicKey,
    baseUrl: "https://log",
    checkpointKeyId: stated,
  });
  await assert.rejects(
    verifyCheckpoint(text, { key: key.publicKey, baseUrl: "https://log" }),
    rejects("REKOR_CHECKPOINT_INVALID"),
  );
});

Deno.test("encodeCheckpointBody() refuses bodies that could not be parsed back", () => {
  assert.throws(() => encodeCheckpointBody({ origin: "", treeSize: 1n, rootHash: ROOT }));
  assert.throws(() => encodeCheckpointBody({ origin: "a\nb", treeSize: 1n, rootHash: ROOT }));
  assert.throws(() => encodeCheckpointBody({ origin: "a", treeSize: -1n, rootHash: ROOT }));
  assert.throws(() =>
    encodeCheckpointBody({ origin: "a", treeSize: 1n, rootHash: ROOT, extensions: [""] })
  );
  assert.throws(() => encodeCheckpointBody({ origin: "a", treeSize: 1n, rootHash: ROOT.slice(1) }));
});

Deno.test("property: signed checkpoints parse back to what was signed", async () => {
  const key = await generateKeyPair({ kind: "ed25519" });
  const line = fc.string({ minLength: 1, maxLength: 30 }).filter((s) =>
    [...s].every((c) => c >= " " && c !== "\u007f") && s.isWellFormed()
  );
  await fc.assert(
    fc.asyncProperty(
      line.filter((s) => !/[\s+]/.test(s)),
      fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      fc.array(line, { maxLength: 3 }),
      async (origin, treeSize, root, extensions) => {
        const text = await signCheckpoint({ origin, treeSize, rootHash: root, extensions }, key, {
          style: "c2sp",
          name: origin,
        });
        const parsed = parseCheckpoint(text);
        assert.equal(parsed.origin, origin);
        assert.equal(parsed.treeSize, treeSize);
        assert.deepEqual([...parsed.rootHash], [...root]);
        assert.deepEqual(parsed.extensions, extensions);
        assert.deepEqual(
          parsed.signatures[0]!.keyId,
          noteKeyId(key.publicKey, origin, "c2sp"),
        );
      },
    ),
    { numRuns: 100 },
  );
});

// ---------------------------------------------------------------------------------------------
// Real checkpoints from the conformance corpus

if (requireComponents("checkpoint conformance vectors", INTEROP)) {
  const dir = "conformance/test/assets/bundle-verify";
  const production = parseTrustedRoot(
    readInteropText("conformance/extra/production-trusted_root.json"),
  );

  const checkpointOf = (name: string): { text: string; logId: Bytes } => {
    const bundle = JSON.parse(readInteropText(`${dir}/${name}/bundle.sigstore.json`));
    const entry = bundle.verificationMaterial.tlogEntries[0];
    return {
      text: entry.inclusionProof.checkpoint.envelope,
      logId: Uint8Array.fromBase64(entry.logId.keyId) as Bytes,
    };
  };

  const logFor = (name: string, logId: Bytes, own: boolean): TrustedLog => {
    const root = own
      ? parseTrustedRoot(readInteropText(`${dir}/${name}/trusted_root.json`))
      : production;
    const [log] = findLogs(root.tlogs, logId);
    assert.ok(log, `no log for ${name}`);
    return log;
  };

  const good: [string, boolean][] = [
    ["happy-path-v0.3", false],
    ["happy-path-v0.1", false],
    ["happy-path-intoto-in-dsse-v3", false],
    ["rekor2-happy-path", true],
    ["rekor2-checkpoint-cosigned", true],
    ["rekor2-checkpoint-multiple-cosigs", true],
    ["rekor2-checkpoint-origin-not-first", true],
    ["rekor2-checkpoint-two-sigs-cosigned", true],
    ["rekor2-checkpoint-two-sigs-from-origin", true],
    ["rekor2-dsse-happy-path", true],
    ["bundle-with-sct-with-extensions", true],
  ];
  Deno.test("verifyCheckpoint() accepts the real Rekor v1 and v2 checkpoints of the conformance corpus", async () => {
    for (const [name, own] of good) {
      const { text, logId } = checkpointOf(name);
      const log = logFor(name, logId, own);
      const checkpoint = await verifyCheckpoint(text, log);
      assert.ok(checkpoint.treeSize > 0n, name);
    }
  });

  Deno.test("noteKeyId() reproduces the Rekor v2 Ed25519 key IDs of the trusted roots", () => {
    const root = parseTrustedRoot(
      readInteropText(`${dir}/rekor2-dsse-happy-path/trusted_root.json`),
    );
    let ed25519 = 0;
    for (const log of root.tlogs) {
      if (log.key.kind !== "ed25519") continue;
      ed25519++;
      const host = new URL(log.baseUrl).host;
      assert.deepEqual(noteKeyId(log.key, host, "c2sp"), log.logId.slice(0, 4), host);
    }
    assert.ok(ed25519 >= 3);
  });

  const bad: [string, boolean, string][] = [
    ["checkpoint-bad-keyhint_fail", false, "REKOR_CHECKPOINT_INVALID"],
    ["invalid-checkpoint-signature_fail", false, "REKOR_CHECKPOINT_INVALID"],
    ["rekor2-checkpoint-no-matching-signature_fail", true, "REKOR_CHECKPOINT_INVALID"],
    ["rekor2-checkpoint-missing-log-signature_fail", true, "REKOR_CHECKPOINT_MALFORMED"],
    ["rekor2-checkpoint-missing-origin_fail", true, "REKOR_CHECKPOINT_MALFORMED"],
    ["rekor2-checkpoint-missing-root-hash_fail", true, "REKOR_CHECKPOINT_MALFORMED"],
    ["rekor2-checkpoint-missing-size_fail", true, "REKOR_CHECKPOINT_MALFORMED"],
  ];
  Deno.test("verifyCheckpoint() rejects the broken checkpoints of the conformance corpus", async () => {
    for (const [name, own, code] of bad) {
      const { text, logId } = checkpointOf(name);
      const log = logFor(name, logId, own);
      await assert.rejects(verifyCheckpoint(text, log), rejects(code), name);
    }
  });

  Deno.test("verifyCheckpoint() rejects a real checkpoint with one changed byte", async () => {
    const { text, logId } = checkpointOf("happy-path-v0.3");
    const log = logFor("happy-path-v0.3", logId, false);
    const tampered = text.replace("\n75408393\n", "\n75408394\n");
    assert.notEqual(tampered, text);
    await assert.rejects(verifyCheckpoint(tampered, log), rejects("REKOR_CHECKPOINT_INVALID"));
    await assert.rejects(
      verifyCheckpoint(text.replace("rekor.sigstore.dev", "rekor.sigstage.dev"), log),
      rejects("REKOR_CHECKPOINT_INVALID"),
    );
  });
}
