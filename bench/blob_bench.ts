/**
 * Blobs stream (DESIGN.md "Performance"): on one 1 GiB file, `openssl dgst -sha256` (the
 * machine's hashing limit, the anchor) paired round by round with our streaming `hashFile`, and
 * with `verifyBlob` of a P-256 key bundle over the same file (library calls, no log). Throughput
 * is the anchor's time over ours (target: at least 90% of openssl) and memory must stay flat:
 * how much the run grew this process's resident memory (the kernel's high-water mark is reset
 * through `/proc/self/clear_refs` before a run and read as `VmHWM` after it), at most 64 MB.
 * The file is created in a temporary directory and removed at exit.
 *
 *   deno run -A bench/blob_bench.ts     (or deno bench -A bench/blob_bench.ts)
 */

import { hashFile } from "../lib/util/hash_stream.ts";
import { encodeBundle } from "../lib/bundle/serialize.ts";
import { generateKeyPair } from "../lib/keys/private_key.ts";
import { signBlob } from "../lib/sign/blob.ts";
import { verifyBlob } from "../lib/verify/blob.ts";
import { median, pairedRuns, type PairedSamples, printResult } from "./_paired.ts";

const SIZE = 1 << 30;
const ROUNDS = Number(Deno.env.get("BENCH_ROUNDS") ?? 5);
const MAX_GROWTH = 64e6;

const dir = await Deno.makeTempDir({ prefix: "dcosign-blob-bench-" });
const path = `${dir}/blob.bin`;
try {
  {
    // Content does not change SHA-256's speed: one random MiB, written 1024 times.
    const chunk = new Uint8Array(1 << 20);
    for (let i = 0; i < chunk.length; i += 65536) {
      crypto.getRandomValues(chunk.subarray(i, i + 65536));
    }
    using file = await Deno.open(path, { write: true, create: true, truncate: true });
    for (let written = 0; written < SIZE; written += chunk.length) {
      let offset = 0;
      while (offset < chunk.length) offset += await file.write(chunk.subarray(offset));
    }
  }
  const key = await generateKeyPair();
  const signed = await signBlob({ kind: "file", path }, { identity: { signer: key } });
  const bundle = encodeBundle(signed.bundle);

  const openssl = async () => {
    const result = await new Deno.Command("openssl", {
      args: ["dgst", "-sha256", path],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!result.success) throw new Error(new TextDecoder().decode(result.stderr));
  };

  let growth = 0;
  const tracked = (run: () => Promise<unknown>) => async () => {
    const before = resetPeakRss() ? procStatus("VmRSS") : undefined;
    await run();
    const peak = before === undefined ? undefined : procStatus("VmHWM");
    if (peak !== undefined) growth = Math.max(growth, peak - before!);
  };

  const rows: [string, () => Promise<unknown>][] = [
    ["1 GiB SHA-256 in process (hashFile)", () => hashFile(path)],
    [
      "1 GiB verifyBlob (P-256 key bundle, digest artifact)",
      () =>
        verifyBlob({ bundle }, { kind: "file", path }, { key: key.publicKey, tlogThreshold: 0 }),
    ],
  ];
  for (const [measure, run] of rows) {
    growth = 0;
    const samples: PairedSamples = await pairedRuns(openssl, tracked(run), { rounds: ROUNDS });
    // Throughput share: openssl's time over ours, per round, then the median.
    const share = median(samples.anchor.map((a, i) => a / samples.dcosign[i]!));
    const flat = growth <= MAX_GROWTH;
    printResult({
      measure,
      anchor: "openssl dgst -sha256",
      anchorValue: `${(SIZE / 2 ** 20 / (median(samples.anchor) / 1000)).toFixed(0)} MiB/s`,
      dcosignValue: `${(SIZE / 2 ** 20 / (median(samples.dcosign) / 1000)).toFixed(0)} MiB/s` +
        ` (RSS growth ${(growth / 1e6).toFixed(0)} MB)`,
      ratio: `${(share * 100).toFixed(0)}% of openssl`,
      target: `>= 90%, memory flat (<= ${MAX_GROWTH / 1e6} MB)`,
      met: share >= 0.9 && flat,
    });
  }
} finally {
  await Deno.remove(dir, { recursive: true });
}

function resetPeakRss(): boolean {
  try {
    Deno.writeTextFileSync("/proc/self/clear_refs", "5");
    return true;
  } catch {
    return false; // not Linux, or not permitted: no memory figure
  }
}

function procStatus(field: "VmHWM" | "VmRSS"): number | undefined {
  try {
    const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(
      Deno.readTextFileSync("/proc/self/status"),
    );
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}
