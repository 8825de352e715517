/**
 * Blobs stream (DESIGN.md "Performance"): on one 1 GiB file, side by side in one run,
 * `openssl dgst -sha256` (the machine's hashing limit, the baseline), our streaming hash,
 * `signBlob` with a P-256 key and `verifyBlob` of its bundle (library calls, no log). The
 * summary printed at the end gives each one's throughput as a share of openssl's (target: at
 * least 90%) and memory (target: flat, under 150 MB): how much each run grew this process's
 * resident memory (the kernel's high-water mark is reset through `/proc/self/clear_refs` before
 * a run and read as `VmHWM` after it; the bench harness itself holds 150-330 MB, so absolute
 * numbers here say nothing), and the peak RSS of `dcosign sign-blob` and `verify-blob` run on
 * the same file as clean processes (bench/_peak_rss.ts). The file is created in a temporary
 * directory and removed at exit.
 *
 *   deno bench -A bench/blob_bench.ts
 */

import { hashFile } from "../lib/util/hash_stream.ts";
import { encodeBundle } from "../lib/bundle/serialize.ts";
import { encryptPrivateKey } from "../lib/keys/key_file.ts";
import { generateKeyPair } from "../lib/keys/private_key.ts";
import { signBlob } from "../lib/sign/blob.ts";
import { verifyBlob } from "../lib/verify/blob.ts";

const SIZE = 1 << 30;
const RUNS = { n: 3, warmup: 1 };

const dir = await Deno.makeTempDir({ prefix: "dcosign-blob-bench-" });
const path = `${dir}/blob.bin`;
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
globalThis.addEventListener("unload", () => {
  try {
    Deno.removeSync(dir, { recursive: true });
  } catch {
    // already gone
  }
  printSummary();
});

const key = await generateKeyPair();
const signed = await signBlob({ kind: "file", path }, { identity: { signer: key } });
const bundle = encodeBundle(signed.bundle);

/** Best time (ms) and growth of resident memory (bytes) seen per bench. */
const seen = new Map<string, { best: number; growth?: number }>();

/** The CLI on the same file in a clean process: wall time and peak RSS. */
async function runCliOnce(args: string[]): Promise<{ ms: number; peakRss?: number }> {
  const start = performance.now();
  const result = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./_peak_rss.ts", import.meta.url).pathname, ...args],
    cwd: dir,
    env: { COSIGN_PASSWORD: "" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const ms = performance.now() - start;
  const stderr = new TextDecoder().decode(result.stderr);
  if (!result.success) throw new Error(`dcosign ${args[0]} failed: ${stderr}`);
  const kb = /peak-rss-kb (\d+)/.exec(stderr)?.[1];
  return kb === undefined ? { ms } : { ms, peakRss: Number(kb) * 1024 };
}

await Deno.writeTextFile(`${dir}/cosign.key`, encryptPrivateKey(key, ""));
await Deno.writeTextFile(`${dir}/cosign.pub`, key.publicKey.toPem());
const cli = {
  "dcosign sign-blob": await runCliOnce([
    "sign-blob",
    "--key",
    "cosign.key",
    "--tlog-upload=false",
    "--bundle",
    "cli.json",
    path,
  ]),
  "dcosign verify-blob": await runCliOnce([
    "verify-blob",
    "--key",
    "cosign.pub",
    "--insecure-ignore-tlog",
    "--bundle",
    "cli.json",
    path,
  ]),
};

function resetPeakRss(): boolean {
  try {
    Deno.writeTextFileSync("/proc/self/clear_refs", "5");
    return true;
  } catch {
    return false; // not Linux, or not permitted: report the process-wide peak instead
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

async function measure(name: string, run: () => Promise<unknown>, rss = true): Promise<void> {
  const before = rss && resetPeakRss() ? procStatus("VmRSS") : undefined;
  const start = performance.now();
  await run();
  const elapsed = performance.now() - start;
  const entry = seen.get(name) ?? { best: Infinity };
  entry.best = Math.min(entry.best, elapsed);
  const peak = before === undefined ? undefined : procStatus("VmHWM");
  if (peak !== undefined) entry.growth = Math.max(entry.growth ?? 0, peak - before!);
  seen.set(name, entry);
}

const OPENSSL = "openssl dgst -sha256";

Deno.bench({
  name: OPENSSL,
  group: "1 GiB blob",
  baseline: true,
  ...RUNS,
  async fn() {
    await measure(OPENSSL, async () => {
      const result = await new Deno.Command("openssl", {
        args: ["dgst", "-sha256", path],
        stdout: "piped",
        stderr: "piped",
      }).output();
      if (!result.success) throw new Error(new TextDecoder().decode(result.stderr));
    }, false);
  },
});

Deno.bench({
  name: "hashFile (sha256, streaming)",
  group: "1 GiB blob",
  ...RUNS,
  async fn() {
    await measure("hashFile (sha256, streaming)", () => hashFile(path));
  },
});

Deno.bench({
  name: "signBlob (P-256 key, prehashed)",
  group: "1 GiB blob",
  ...RUNS,
  async fn() {
    await measure(
      "signBlob (P-256 key, prehashed)",
      () => signBlob({ kind: "file", path }, { identity: { signer: key } }),
    );
  },
});

Deno.bench({
  name: "verifyBlob (bundle, key, digest artifact)",
  group: "1 GiB blob",
  ...RUNS,
  async fn() {
    await measure(
      "verifyBlob (bundle, key, digest artifact)",
      () =>
        verifyBlob({ bundle }, { kind: "file", path }, { key: key.publicKey, tlogThreshold: 0 }),
    );
  },
});

function printSummary(): void {
  const baseline = seen.get(OPENSSL);
  if (!baseline) return;
  const mib = SIZE / (1 << 20);
  const mb = (bytes: number | undefined) =>
    bytes === undefined ? "-" : `${(bytes / 1e6).toFixed(0)} MB`;
  const row = (name: string, ms: number, memory: string) =>
    `  ${name.padEnd(44)} ${(mib / (ms / 1000)).toFixed(0).padStart(6)} MiB/s ${
      ((baseline.best / ms) * 100).toFixed(0).padStart(5)
    }% of openssl  ${memory}`;
  const lines = ["", "1 GiB blob: throughput against openssl, and memory"];
  for (const [name, { best, growth }] of seen) {
    lines.push(row(name, best, name === OPENSSL ? "" : `RSS growth ${mb(growth)}`));
  }
  for (const [name, { ms, peakRss }] of Object.entries(cli)) {
    lines.push(row(`${name} (CLI, clean process, once)`, ms, `peak RSS ${mb(peakRss)}`));
  }
  console.log(lines.join("\n"));
}
