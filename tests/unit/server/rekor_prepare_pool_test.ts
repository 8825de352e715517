/**
 * server/rekor/_prepare_pool.ts: a proposal prepared on a worker thread is byte for byte what
 * the log's own thread makes of it, an invalid one fails with the same error code, and a pool
 * whose worker cannot run falls back to the calling thread instead of failing the append.
 * A file-backed log (which uses the pool by default) accepts, deduplicates and persists entries.
 */

import assert from "node:assert/strict";
import { generateKeyPair } from "../../../lib/keys/private_key.ts";
import { sha256, utf8 } from "../../../lib/util/bytes.ts";
import { isCosignError } from "../../../lib/errors.ts";
import { prepareEntry } from "../../../server/rekor/_prepare.ts";
import { PreparePool } from "../../../server/rekor/_prepare_pool.ts";
import { TransparencyLog } from "../../../server/rekor/transparency_log.ts";
import { tempDir } from "../../_support.ts";

async function proposal(text: string) {
  const key = await generateKeyPair();
  const artifact = utf8(text);
  return {
    apiVersion: "0.0.1",
    kind: "hashedrekord",
    spec: {
      data: { hash: { algorithm: "sha256", value: sha256(artifact).toHex() } },
      signature: {
        content: (await key.sign(artifact)).toBase64(),
        publicKey: { content: btoa(key.publicKey.toPem()) },
      },
    },
  };
}

Deno.test("PreparePool prepares on a worker exactly as in-thread, and fails alike", async () => {
  const pool = new PreparePool(1);
  try {
    assert.equal(pool.size, 1);
    const good = await proposal("pool artifact");
    const [onWorker, inThread] = await Promise.all([pool.prepare(good), prepareEntry(good)]);
    assert.deepEqual(onWorker, inThread);
    assert.ok(onWorker.body instanceof Uint8Array);
    const forged = structuredClone(good);
    forged.spec.data.hash.value = sha256(utf8("another artifact")).toHex();
    await assert.rejects(pool.prepare(forged), (e) => isCosignError(e, "REKOR_ENTRY_INVALID"));
    await assert.rejects(
      pool.prepare({ ...good, kind: "rfc3161" }),
      (e) => isCosignError(e, "REKOR_ENTRY_UNSUPPORTED"),
    );
  } finally {
    pool.close();
  }
});

Deno.test("PreparePool falls back to the calling thread when its worker dies", async () => {
  await using dir = await tempDir();
  const broken = `${dir.path}/broken_worker.ts`;
  await Deno.writeTextFile(broken, 'throw new Error("this worker cannot start");\n');
  const pool = new PreparePool(1, new URL(`file://${broken}`));
  try {
    const good = await proposal("fallback artifact");
    assert.deepEqual(await pool.prepare(good), await prepareEntry(good));
    // After the failure the pool has no worker left and keeps answering in-thread.
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(pool.size, 0);
    assert.deepEqual(await pool.prepare(good), await prepareEntry(good));
  } finally {
    pool.close();
  }
});

Deno.test("a file-backed log appends through its workers, deduplicates and persists", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/log.sqlite`;
  const proposals = await Promise.all(Array.from({ length: 6 }, (_, i) => proposal(`e${i}`)));
  {
    await using log = await TransparencyLog.open(path, { workers: 2 });
    const results = await Promise.all(proposals.map((p) => log.append(p)));
    assert.deepEqual(results.map((r) => r.created), proposals.map(() => true));
    assert.deepEqual(
      results.map((r) => r.entry.logIndex).sort((a, b) => Number(a - b)),
      [0n, 1n, 2n, 3n, 4n, 5n],
    );
    assert.equal((await log.append(proposals[2])).created, false);
  }
  await using reopened = await TransparencyLog.open(path, { workers: 0 });
  assert.equal(reopened.size, 6n);
});
