/**
 * The embedded transparency log and offline entry verification:
 * - appends per second, in memory vs durable (SQLite WAL, synchronous=FULL) vs durable with 8
 *   concurrent clients;
 * - inclusion and consistency proofs read from SQLite at 10^4, 10^5 and 10^6 entries (the
 *   table is bulk-loaded with the same rows appends write; cost must grow logarithmically);
 * - `verifyTlogEntry` per second with a SET only, a checkpointed proof only, and both.
 * Run: `deno bench -A bench/rekor_bench.ts`.
 */
import { DatabaseSync } from "node:sqlite";
import { sha256, utf8 } from "../lib/util/bytes.ts";
import { generateKeyPair } from "../lib/keys/private_key.ts";
import { hashLeaf } from "../lib/tlog/merkle.ts";
import { MemoryMerkleTree, nodesForAppend } from "../lib/tlog/merkle_tree.ts";
import { logEntryToTlogEntry } from "../lib/tlog/rekor/client.ts";
import { buildHashedRekordEntry, type ExpectedContent } from "../lib/tlog/rekor/entries.ts";
import { verifyTlogEntry } from "../lib/tlog/verify.ts";
import type { TrustedRoot } from "../lib/trust/trusted_root.ts";
import { TransparencyLog } from "../server/rekor/transparency_log.ts";

const ITERATIONS = 300;
const WARMUP = 20;
const signer = await generateKeyPair();
let counter = 0;

function proposal(): {
  proposed: ReturnType<typeof buildHashedRekordEntry>;
  expected: ExpectedContent;
} {
  const digest = sha256(utf8(`bench artifact ${counter++}`));
  const signature = signer.signPrehashed(digest, "sha256");
  return {
    proposed: buildHashedRekordEntry({
      digest: { algorithm: "sha256", value: digest },
      signature,
      verifierPem: signer.publicKey.toPem(),
    }),
    expected: {
      signature,
      publicKeyOrCertificateDer: signer.publicKey.spki,
      artifactDigest: { algorithm: "sha256", digest },
    },
  };
}

function pool(count: number) {
  return Array.from({ length: count }, () => proposal().proposed);
}

const dir = await Deno.makeTempDir({ prefix: "dcosign-rekor-bench-" });
const memory = await TransparencyLog.open(":memory:");
const durable = await TransparencyLog.open(`${dir}/durable.sqlite`);
const concurrent = await TransparencyLog.open(`${dir}/concurrent.sqlite`);
const perRun = ITERATIONS + WARMUP + 10;
const memoryPool = pool(perRun);
const durablePool = pool(perRun);
const concurrentPool = pool(perRun * 8);

Deno.bench("append, in memory (no durability)", {
  group: "append",
  baseline: true,
  n: ITERATIONS,
  warmup: WARMUP,
}, async () => {
  await memory.append(memoryPool.pop());
});

Deno.bench("append, durable (WAL, synchronous=FULL)", {
  group: "append",
  n: ITERATIONS,
  warmup: WARMUP,
}, async () => {
  await durable.append(durablePool.pop());
});

Deno.bench("8 concurrent appends, durable (time per 8)", {
  group: "append",
  n: ITERATIONS,
  warmup: WARMUP,
}, async () => {
  await Promise.all(concurrentPool.splice(-8).map((p) => concurrent.append(p)));
});

// ---------------------------------------------------------------------------------------------
// Proofs from SQLite at scale: bulk-load 10^6 entries with the rows `append` writes.

const SIZES = [10_000, 100_000, 1_000_000];
const bigPath = `${dir}/big.sqlite`;
await (await TransparencyLog.open(bigPath)).close();
{
  const db = new DatabaseSync(bigPath);
  const tree = new MemoryMerkleTree();
  const insertEntry = db.prepare(
    "INSERT INTO entries (idx, uuid, body, integrated_time, set_signature) VALUES (?, ?, ?, ?, ?)",
  );
  const insertNode = db.prepare("INSERT INTO nodes (level, idx, hash) VALUES (?, ?, ?)");
  const set = new Uint8Array(70);
  db.exec("BEGIN");
  for (let i = 0; i < SIZES[2]!; i++) {
    const body = utf8(`{"bench":${i}}`);
    const leaf = hashLeaf(body);
    const index = BigInt(i);
    for (const [level, at, hash] of nodesForAppend(tree, index, leaf)) {
      insertNode.run(level, at, hash);
    }
    tree.append(leaf);
    insertEntry.run(index, leaf, body, 1_700_000_000, set);
  }
  db.exec("COMMIT");
  db.close();
}
const big = await TransparencyLog.open(bigPath);

for (const n of SIZES) {
  const size = BigInt(n);
  const label = `10^${Math.log10(n)}`;
  Deno.bench(`inclusion proof from SQLite, ${label} entries`, {
    group: "sqlite inclusion",
    baseline: n === SIZES[0],
  }, () => {
    big.inclusionProof(size / 3n, size);
  });
  Deno.bench(`consistency proof from SQLite, ${label} entries`, {
    group: "sqlite consistency",
    baseline: n === SIZES[0],
  }, () => {
    big.consistencyProof(size / 2n + 7n, size);
  });
}

// ---------------------------------------------------------------------------------------------
// Offline verification of one entry

const sample = proposal();
const { entry } = await memory.append(sample.proposed);
const full = logEntryToTlogEntry(entry);
const { inclusionProof: _proof, ...setOnly } = full;
const { inclusionPromise: _set, ...proofOnly } = full;
const root: TrustedRoot = {
  mediaType: "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
  tlogs: [memory.trustedLog("http://bench.test")],
  ctlogs: [],
  certificateAuthorities: [],
  timestampAuthorities: [],
};
const options = { expected: sample.expected };

Deno.bench("verifyTlogEntry, SET only", { group: "verify", baseline: true }, async () => {
  await verifyTlogEntry(setOnly, root, options);
});
Deno.bench("verifyTlogEntry, inclusion proof + checkpoint only", { group: "verify" }, async () => {
  await verifyTlogEntry(proofOnly, root, options);
});
Deno.bench("verifyTlogEntry, SET + inclusion proof + checkpoint", { group: "verify" }, async () => {
  await verifyTlogEntry(full, root, options);
});

globalThis.addEventListener("unload", () => {
  for (const log of [memory, durable, concurrent, big]) void log.close();
  try {
    Deno.removeSync(dir, { recursive: true });
  } catch {
    // best effort
  }
});
