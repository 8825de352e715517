import assert from "node:assert/strict";
import { type Bytes, sha256, utf8 } from "../../../lib/util/bytes.ts";
import { canonicalJsonBytes } from "../../../lib/util/canonical_json.ts";
import { signCheckpoint } from "../../../lib/tlog/checkpoint.ts";
import { isCosignError } from "../../../lib/errors.ts";
import { generateKeyPair, type PrivateKey } from "../../../lib/keys/private_key.ts";
import { hashLeaf, MerkleProofError } from "../../../lib/tlog/merkle.ts";
import { inclusionProof, MemoryMerkleTree, rootHash } from "../../../lib/tlog/merkle_tree.ts";
import { canonicalizeProposedEntry } from "../../../lib/tlog/rekor/canonicalize.ts";
import { buildHashedRekordEntry, type ExpectedContent } from "../../../lib/tlog/rekor/entries.ts";
import type { TlogEntry } from "../../../lib/tlog/entry.ts";
import { setPayload, verifyTlogEntries, verifyTlogEntry } from "../../../lib/tlog/verify.ts";
import {
  keyDetailsOf,
  type TrustedLog,
  type TrustedRoot,
} from "../../../lib/trust/trusted_root.ts";

function rejects(code: string) {
  return (error: unknown) => {
    assert.ok(isCosignError(error), `expected a CosignError, got ${error}`);
    assert.equal(error.code, code, error.message);
    return true;
  };
}

const NOW = new Date("2026-06-01T00:00:00Z");
const T0 = BigInt(Date.parse("2026-05-01T00:00:00Z") / 1000);

/** A small Rekor v1-style log: ECDSA P-256 key, SETs, Rekor v1 checkpoints. */
class TestLog {
  readonly tree = new MemoryMerkleTree();
  readonly bodies: Bytes[] = [];
  constructor(
    readonly key: PrivateKey,
    readonly baseUrl = "https://rekor.test",
    readonly treeId = 42n,
  ) {}

  static async create(baseUrl?: string): Promise<TestLog> {
    return new TestLog(await generateKeyPair(), baseUrl);
  }

  get logId(): Bytes {
    return sha256(this.key.publicKey.spki);
  }

  trusted(validFor: TrustedLog["validFor"] = { start: new Date(0) }): TrustedLog {
    return {
      baseUrl: this.baseUrl,
      logId: this.logId,
      key: this.key.publicKey,
      keyDetails: keyDetailsOf(this.key.publicKey),
      validFor,
    };
  }

  get origin(): string {
    return `${new URL(this.baseUrl).host} - ${this.treeId}`;
  }

  async add(body: Bytes, integratedTime = T0, globalOffset = 0n): Promise<TlogEntry> {
    const index = this.tree.append(hashLeaf(body));
    this.bodies.push(body);
    const unsigned: TlogEntry = {
      logIndex: index + globalOffset,
      logId: this.logId,
      kindVersion: { kind: "hashedrekord", version: "0.0.1" },
      integratedTime,
      canonicalizedBody: body,
    };
    const set = await this.key.sign(setPayload(unsigned));
    return { ...unsigned, inclusionPromise: { signedEntryTimestamp: set } };
  }

  async prove(entry: TlogEntry, localIndex: bigint): Promise<TlogEntry> {
    const size = this.tree.size;
    const root = rootHash(this.tree, size);
    const checkpoint = await signCheckpoint(
      { origin: this.origin, treeSize: size, rootHash: root },
      this.key,
    );
    return {
      ...entry,
      inclusionProof: {
        logIndex: localIndex,
        rootHash: root,
        treeSize: size,
        hashes: inclusionProof(this.tree, localIndex, size),
        checkpoint,
      },
    };
  }
}

function rootOf(...logs: TrustedLog[]): TrustedRoot {
  return {
    mediaType: "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
    tlogs: logs,
    ctlogs: [],
    certificateAuthorities: [],
    timestampAuthorities: [],
  };
}

interface Signed {
  body: Bytes;
  expected: ExpectedContent;
}

async function signedArtifact(signer: PrivateKey, text: string): Promise<Signed> {
  const digest = sha256(utf8(text));
  const signature = signer.signPrehashed(digest, "sha256");
  const { body } = await canonicalizeProposedEntry(buildHashedRekordEntry({
    digest: { algorithm: "sha256", value: digest },
    signature,
    verifierPem: signer.publicKey.toPem(),
  }));
  return {
    body,
    expected: {
      signature,
      publicKeyOrCertificateDer: signer.publicKey.spki,
      artifactDigest: { algorithm: "sha256", digest },
    },
  };
}

const signer = await generateKeyPair();
const log = await TestLog.create();
const filler = await signedArtifact(signer, "filler");
for (let i = 0; i < 6; i++) await log.add(filler.body);
const artifact = await signedArtifact(signer, "the artifact");
const setOnly = await log.add(artifact.body, T0, 1000n);
for (let i = 0; i < 4; i++) await log.add(filler.body);
const full = await log.prove(setOnly, 6n);
const root = rootOf(log.trusted());

Deno.test("verifyTlogEntry() accepts an entry with SET, inclusion proof and checkpoint", async () => {
  const result = await verifyTlogEntry(full, root, { expected: artifact.expected, now: NOW });
  assert.ok(result.setVerified && result.proofVerified);
  assert.equal(result.integratedTime?.getTime(), Number(T0) * 1000);
  assert.equal(result.body.kind, "hashedrekord");
  assert.deepEqual(result.log.logId, log.logId);
});

Deno.test("verifyTlogEntry() accepts a SET-only entry and a proof-only entry", async () => {
  await verifyTlogEntry(setOnly, root, { expected: artifact.expected, now: NOW });
  const { inclusionPromise: _, ...proofOnly } = full;
  const result = await verifyTlogEntry(proofOnly, root, { expected: artifact.expected, now: NOW });
  // Without a SET the integrated time is not vouched for (sigstore-js #1659).
  assert.equal(result.integratedTime, undefined);
  assert.equal(result.setVerified, false);
});

Deno.test("verifyTlogEntry() rejects a SET copied from another entry", async () => {
  const other = await log.add(filler.body);
  const copied: TlogEntry = { ...full, inclusionPromise: other.inclusionPromise! };
  await assert.rejects(
    verifyTlogEntry(copied, root, { expected: artifact.expected, now: NOW }),
    rejects("REKOR_SET_INVALID"),
  );
  // The other entry as a whole is valid, but it is about another signature (GHSA-whqx-f9j3).
  await assert.rejects(
    verifyTlogEntry(other, root, { expected: artifact.expected, now: NOW }),
    rejects("REKOR_BODY_MISMATCH"),
  );
});

Deno.test("verifyTlogEntry() rejects an entry for another artifact digest", async () => {
  await assert.rejects(
    verifyTlogEntry(full, root, {
      expected: {
        ...artifact.expected,
        artifactDigest: { algorithm: "sha256", digest: sha256(utf8("something else")) },
      },
      now: NOW,
    }),
    rejects("REKOR_BODY_MISMATCH"),
  );
});

Deno.test("verifyTlogEntry() rejects a proof with a wrong hash count", async () => {
  const proof = full.inclusionProof!;
  for (const hashes of [proof.hashes.slice(1), [...proof.hashes, proof.hashes[0]!], []]) {
    await assert.rejects(
      verifyTlogEntry({ ...full, inclusionProof: { ...proof, hashes } }, root, {
        expected: artifact.expected,
        now: NOW,
      }),
      (error: unknown) => {
        assert.ok(error instanceof MerkleProofError);
        assert.equal(error.code, "REKOR_PROOF_INVALID");
        assert.equal(error.reason, "wrong-hash-count");
        return true;
      },
    );
  }
});

Deno.test("verifyTlogEntry() rejects a checkpoint signed by another key or for another origin", async () => {
  const proof = full.inclusionProof!;
  const impostor = await generateKeyPair();
  const body = { origin: log.origin, treeSize: proof.treeSize, rootHash: proof.rootHash };
  const byImpostor = await signCheckpoint(body, impostor);
  await assert.rejects(
    verifyTlogEntry({ ...full, inclusionProof: { ...proof, checkpoint: byImpostor } }, root, {
      expected: artifact.expected,
      now: NOW,
    }),
    rejects("REKOR_CHECKPOINT_INVALID"),
  );
  const otherOrigin = await signCheckpoint({ ...body, origin: "rekor.test - 43" }, log.key);
  await verifyTlogEntry({ ...full, inclusionProof: { ...proof, checkpoint: otherOrigin } }, root, {
    expected: artifact.expected,
    now: NOW,
  });
  await assert.rejects(
    verifyTlogEntry({ ...full, inclusionProof: { ...proof, checkpoint: otherOrigin } }, root, {
      expected: artifact.expected,
      now: NOW,
      checkpointOrigin: log.origin,
    }),
    rejects("REKOR_CHECKPOINT_INVALID"),
  );
});

Deno.test("verifyTlogEntry() rejects a root hash differing only in letter case bits", async () => {
  const proof = full.inclusionProof!;
  const folded = Uint8Array.from(proof.rootHash) as Bytes;
  const at = folded.findIndex((b) => (b | 0x20) >= 0x61 && (b | 0x20) <= 0x7a);
  folded[at >= 0 ? at : 0]! ^= 0x20;
  // Proof root differs from the signed checkpoint root.
  await assert.rejects(
    verifyTlogEntry({ ...full, inclusionProof: { ...proof, rootHash: folded } }, root, {
      expected: artifact.expected,
      now: NOW,
    }),
    rejects("REKOR_PROOF_INVALID"),
  );
  // Checkpoint and proof both state the folded root: the Merkle path does not lead there.
  const checkpoint = await signCheckpoint(
    { origin: log.origin, treeSize: proof.treeSize, rootHash: folded },
    log.key,
  );
  await assert.rejects(
    verifyTlogEntry(
      { ...full, inclusionProof: { ...proof, rootHash: folded, checkpoint } },
      root,
      { expected: artifact.expected, now: NOW },
    ),
    rejects("REKOR_PROOF_INVALID"),
  );
});

Deno.test("verifyTlogEntry() checks SETs over log indexes near 2^63 exactly", async () => {
  const bigLog = await TestLog.create("https://big.test");
  const index = (1n << 63n) - 2n;
  const entry = await bigLog.add(artifact.body, T0, index);
  assert.equal(entry.logIndex, index);
  const bigRoot = rootOf(bigLog.trusted());
  await verifyTlogEntry(entry, bigRoot, { expected: artifact.expected, now: NOW });
  // 2^63 - 1 is the same double as 2^63 - 2: rounding would accept it.
  assert.equal(Number(index + 1n), Number(index));
  await assert.rejects(
    verifyTlogEntry({ ...entry, logIndex: index + 1n }, bigRoot, {
      expected: artifact.expected,
      now: NOW,
    }),
    rejects("REKOR_SET_INVALID"),
  );
  assert.match(new TextDecoder().decode(setPayload(entry)), /"logIndex":9223372036854775806}$/);
});

Deno.test("verifyTlogEntry() rejects bodies that are not JSON and kinds that differ from the body", async () => {
  const notJson = await log.add(utf8("not json"));
  await assert.rejects(
    verifyTlogEntry(notJson, root, { expected: artifact.expected, now: NOW }),
    rejects("REKOR_BODY_MALFORMED"),
  );
  await assert.rejects(
    verifyTlogEntry({ ...full, kindVersion: { kind: "dsse", version: "0.0.1" } }, root, {
      expected: artifact.expected,
      now: NOW,
    }),
    rejects("REKOR_BODY_MISMATCH"),
  );
});

Deno.test("verifyTlogEntry() rejects unknown logs and unusable trusted root entries", async () => {
  const stranger = await TestLog.create();
  await assert.rejects(
    verifyTlogEntry(full, rootOf(stranger.trusted()), { expected: artifact.expected, now: NOW }),
    rejects("REKOR_UNKNOWN_LOG"),
  );
  const broken: TrustedLog = { ...log.trusted(), problem: "validFor.start: missing" };
  await assert.rejects(
    verifyTlogEntry(full, rootOf(broken), { expected: artifact.expected, now: NOW }),
    (error: unknown) => {
      assert.ok(isCosignError(error, "REKOR_UNKNOWN_LOG"));
      assert.match(error.message, /validFor\.start: missing/);
      return true;
    },
  );
});

Deno.test("verifyTlogEntry() requires the log key to be valid at the integrated time (closed interval)", async () => {
  const at = new Date(Number(T0) * 1000);
  await verifyTlogEntry(full, rootOf(log.trusted({ start: new Date(0), end: at })), {
    expected: artifact.expected,
    now: NOW,
  });
  await assert.rejects(
    verifyTlogEntry(full, rootOf(log.trusted({ start: new Date(at.getTime() + 1000) })), {
      expected: artifact.expected,
      now: NOW,
    }),
    rejects("REKOR_LOG_NOT_VALID"),
  );
  await assert.rejects(
    verifyTlogEntry(full, root, {
      expected: artifact.expected,
      now: new Date(at.getTime() - 3600_000),
    }),
    rejects("REKOR_INTEGRATED_TIME_INVALID"),
  );
});

Deno.test("verifyTlogEntry() rejects entries without evidence, and without a required proof", async () => {
  const { inclusionPromise: _, ...bare } = setOnly;
  await assert.rejects(
    verifyTlogEntry(bare, root, { expected: artifact.expected, now: NOW }),
    rejects("REKOR_NO_EVIDENCE"),
  );
  await assert.rejects(
    verifyTlogEntry(setOnly, root, { expected: artifact.expected, now: NOW, requireProof: true }),
    rejects("REKOR_PROOF_MISSING"),
  );
  await assert.rejects(
    verifyTlogEntry({ ...full, logIndex: -1n }, root, { expected: artifact.expected, now: NOW }),
    rejects("REKOR_ENTRY_MALFORMED"),
  );
  await assert.rejects(
    verifyTlogEntry(
      { ...full, inclusionProof: { ...full.inclusionProof!, logIndex: 5n } },
      root,
      { expected: artifact.expected, now: NOW },
    ),
    rejects("REKOR_PROOF_INVALID"),
  );
  await assert.rejects(
    verifyTlogEntry(
      { ...full, inclusionProof: { ...full.inclusionProof!, checkpoint: "" } },
      root,
      { expected: artifact.expected, now: NOW },
    ),
    rejects("REKOR_CHECKPOINT_MALFORMED"),
  );
});

Deno.test("verifyTlogEntries() refuses duplicates and counts each log once toward the threshold", async () => {
  const second = await log.prove(await log.add(artifact.body, T0, 2000n), log.tree.size - 1n);
  await assert.rejects(
    verifyTlogEntries([full, full], root, { expected: artifact.expected, threshold: 1, now: NOW }),
    rejects("REKOR_DUPLICATE_ENTRY"),
  );
  const one = await verifyTlogEntries([full, second], root, {
    expected: artifact.expected,
    threshold: 1,
    now: NOW,
  });
  assert.equal(one.logCount, 1);
  assert.equal(one.entries.length, 2);
  await assert.rejects(
    verifyTlogEntries([full, second], root, {
      expected: artifact.expected,
      threshold: 2,
      now: NOW,
    }),
    rejects("VERIFY_TLOG_THRESHOLD"),
  );
  const otherLog = await TestLog.create("https://other.test");
  const elsewhere = await otherLog.add(artifact.body, T0 + 5n);
  const two = await verifyTlogEntries(
    [full, elsewhere],
    rootOf(log.trusted(), otherLog.trusted()),
    {
      expected: artifact.expected,
      threshold: 2,
      now: NOW,
    },
  );
  assert.equal(two.logCount, 2);
  assert.deepEqual(two.integratedTimes.map((t) => t.getTime() / 1000), [
    Number(T0),
    Number(T0) + 5,
  ]);
  // One bad entry fails the whole set, and an empty list never meets a threshold.
  await assert.rejects(
    verifyTlogEntries(
      [full, { ...elsewhere, logIndex: 7n }],
      rootOf(log.trusted(), otherLog.trusted()),
      {
        expected: artifact.expected,
        threshold: 1,
        now: NOW,
      },
    ),
    rejects("REKOR_SET_INVALID"),
  );
  await assert.rejects(
    verifyTlogEntries([], root, { expected: artifact.expected, threshold: 1, now: NOW }),
    rejects("VERIFY_TLOG_THRESHOLD"),
  );
  await assert.rejects(
    verifyTlogEntries(Array(33).fill(full), root, { expected: artifact.expected, threshold: 1 }),
    rejects("REKOR_TOO_MANY_ENTRIES"),
  );
  await assert.rejects(
    verifyTlogEntries([full], root, { expected: artifact.expected, threshold: 0 }),
    RangeError,
  );
});

Deno.test("verifyTlogEntry() verifies a Rekor v2 entry (Ed25519 C2SP checkpoint, no SET) and requires its proof", async () => {
  const logKey = await generateKeyPair({ kind: "ed25519" });
  const baseUrl = "https://log2026.rekor.test";
  const digest = sha256(utf8("v2 artifact"));
  const signature = signer.signPrehashed(digest, "sha256");
  const body = canonicalJsonBytes({
    apiVersion: "0.0.2",
    kind: "hashedrekord",
    spec: {
      hashedRekordV002: {
        data: { algorithm: "SHA2_256", digest: digest.toBase64() },
        signature: {
          content: signature.toBase64(),
          verifier: {
            keyDetails: "PKIX_ECDSA_P256_SHA_256",
            publicKey: { rawBytes: signer.publicKey.spki.toBase64() },
          },
        },
      },
    },
  });
  const tree = new MemoryMerkleTree();
  tree.append(hashLeaf(filler.body));
  tree.append(hashLeaf(body));
  const checkpoint = await signCheckpoint(
    { origin: "log2026.rekor.test", treeSize: 2n, rootHash: rootHash(tree, 2n) },
    logKey,
  );
  const hostHash = sha256(
    new Uint8Array([...utf8("log2026.rekor.test\n"), 1, ...logKey.publicKey.rawKey]),
  );
  const trusted: TrustedLog = {
    baseUrl,
    logId: hostHash,
    key: logKey.publicKey,
    keyDetails: "PKIX_ED25519",
    validFor: { start: new Date(0) },
  };
  const entry: TlogEntry = {
    logIndex: 1n,
    logId: hostHash,
    kindVersion: { kind: "hashedrekord", version: "0.0.2" },
    integratedTime: 0n,
    inclusionProof: {
      logIndex: 1n,
      treeSize: 2n,
      rootHash: rootHash(tree, 2n),
      hashes: inclusionProof(tree, 1n, 2n),
      checkpoint,
    },
    canonicalizedBody: body,
  };
  const expected = {
    signature,
    publicKeyOrCertificateDer: signer.publicKey.spki,
    artifactDigest: { algorithm: "sha256" as const, digest },
  };
  const result = await verifyTlogEntry(entry, rootOf(trusted), { expected, now: NOW });
  assert.equal(result.integratedTime, undefined);
  const { inclusionProof: _, ...noProof } = entry;
  await assert.rejects(
    verifyTlogEntry(noProof, rootOf(trusted), { expected, now: NOW }),
    rejects("REKOR_PROOF_MISSING"),
  );
  await assert.rejects(
    verifyTlogEntry(
      entry,
      rootOf({ ...trusted, validFor: { start: new Date(0), end: new Date(1) } }),
      {
        expected,
        now: NOW,
        trustedTimes: [NOW],
      },
    ),
    rejects("REKOR_LOG_NOT_VALID"),
  );
});
