import assert from "node:assert/strict";
import { tempDir } from "../_support.ts";
import { sha256, utf8 } from "../../lib/util/bytes.ts";
import { verifyCheckpoint } from "../../lib/tlog/checkpoint.ts";
import { generateKeyPair } from "../../lib/keys/private_key.ts";
import { verifyConsistency } from "../../lib/tlog/merkle.ts";
import {
  logEntryToTlogEntry,
  RekorClient,
  type RekorLogEntry,
} from "../../lib/tlog/rekor/client.ts";
import { buildHashedRekordEntry, type ExpectedContent } from "../../lib/tlog/rekor/entries.ts";
import { verifyTlogEntry } from "../../lib/tlog/verify.ts";
import { keyDetailsOf, type TrustedRoot } from "../../lib/trust/trusted_root.ts";

const SERVER = new URL("./_rekor_serve.ts", import.meta.url).pathname;

interface Server {
  readonly child: Deno.ChildProcess;
  readonly baseUrl: string;
}

async function startServer(dataDir: string): Promise<Server> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", SERVER, dataDir],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  try {
    while (!/LISTENING \d+\n/.test(text)) {
      const { done, value } = await reader.read();
      if (done) throw new Error(`server exited before listening: ${text}`);
      text += value;
    }
  } finally {
    await reader.cancel();
  }
  const port = /LISTENING (\d+)/.exec(text)![1];
  return { child, baseUrl: `http://127.0.0.1:${port}` };
}

async function stop(server: Server): Promise<void> {
  try {
    server.child.kill("SIGKILL");
  } catch {
    // already gone
  }
  await server.child.status;
}

Deno.test("every acknowledged entry survives SIGKILL mid-stream with a valid proof and a consistent tree", async () => {
  await using dir = await tempDir();
  const signer = await generateKeyPair();
  const proposals = Array.from({ length: 400 }, (_, i) => {
    const digest = sha256(utf8(`durable artifact ${i}`));
    const signature = signer.signPrehashed(digest, "sha256");
    const expected: ExpectedContent = {
      signature,
      publicKeyOrCertificateDer: signer.publicKey.spki,
      artifactDigest: { algorithm: "sha256", digest },
    };
    const proposed = buildHashedRekordEntry({
      digest: { algorithm: "sha256", value: digest },
      signature,
      verifierPem: signer.publicKey.toPem(),
    });
    return { proposed, expected };
  });

  // Run 1: append from 8 concurrent workers; SIGKILL once 120 entries are acknowledged.
  const first = await startServer(dir.path);
  const client = new RekorClient({ baseUrl: first.baseUrl });
  const logKey = await client.getPublicKey();
  const acknowledged = new Map<number, RekorLogEntry>();
  let next = 0;
  let killed = false;
  const worker = async () => {
    while (!killed && next < proposals.length) {
      const i = next++;
      try {
        const entry = await client.createEntry(proposals[i]!.proposed);
        acknowledged.set(i, entry);
        if (acknowledged.size >= 120 && !killed) {
          killed = true;
          first.child.kill("SIGKILL");
        }
      } catch {
        // In flight when the server died: not acknowledged, so not promised.
        if (!killed) throw new Error("append failed before the kill");
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  await stop(first);
  assert.ok(acknowledged.size >= 120, `only ${acknowledged.size} acknowledged`);

  const root: TrustedRoot = {
    mediaType: "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
    tlogs: [{
      baseUrl: first.baseUrl,
      logId: logKey.fingerprint(),
      key: logKey,
      keyDetails: keyDetailsOf(logKey),
      validFor: { start: new Date(0) },
    }],
    ctlogs: [],
    certificateAuthorities: [],
    timestampAuthorities: [],
  };
  // The largest tree any acknowledged answer showed: its signed checkpoint is the old state.
  const newest = [...acknowledged.values()].reduce((a, b) =>
    a.inclusionProof!.treeSize >= b.inclusionProof!.treeSize ? a : b
  );
  const oldCheckpoint = await verifyCheckpoint(newest.inclusionProof!.checkpoint, root.tlogs[0]!);

  // Run 2: same data directory.
  const second = await startServer(dir.path);
  try {
    const again = new RekorClient({ baseUrl: second.baseUrl });
    assert.ok((await again.getPublicKey()).equals(logKey), "the log key survived");
    const info = await again.getLogInfo();
    assert.ok(info.treeSize >= BigInt(acknowledged.size));
    assert.ok(
      info.treeSize <= BigInt(acknowledged.size + 8),
      "only in-flight entries may be extra",
    );
    for (const [i, before] of acknowledged) {
      const entry = await again.getEntryByUuid(before.uuid);
      assert.equal(entry.logIndex, before.logIndex, "an acknowledged index never changes");
      assert.deepEqual(entry.signedEntryTimestamp, before.signedEntryTimestamp);
      const result = await verifyTlogEntry(logEntryToTlogEntry(entry), root, {
        expected: proposals[i]!.expected,
        requireProof: true,
      });
      assert.ok(result.setVerified && result.proofVerified);
    }
    const newCheckpoint = await verifyCheckpoint(info.signedTreeHead, root.tlogs[0]!);
    assert.deepEqual(newCheckpoint.rootHash, info.rootHash);
    const proof = await again.getConsistencyProof({
      firstSize: oldCheckpoint.treeSize,
      lastSize: info.treeSize,
    });
    verifyConsistency({
      size1: oldCheckpoint.treeSize,
      size2: info.treeSize,
      root1: oldCheckpoint.rootHash,
      root2: info.rootHash,
      proof: proof.hashes,
    });
    // The log still takes appends after the crash.
    const more = await again.createEntry(proposals[proposals.length - 1]!.proposed);
    assert.ok(more.logIndex >= info.treeSize - 1n);
  } finally {
    await stop(second);
  }
});
