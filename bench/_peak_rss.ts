/**
 * Run the dcosign CLI once, like `main.ts`, then print this process's peak resident memory
 * (`VmHWM`, Linux) as the last stderr line `peak-rss-kb N`: a clean process, so the number is
 * what a user running the command sees (bench/blob_bench.ts).
 *
 *   deno run -A bench/_peak_rss.ts sign-blob --key cosign.key --bundle b.json FILE
 */

import { main } from "../main.ts";

Deno.exitCode = await main(Deno.args);
let peak = "?";
try {
  peak = /VmHWM:\s+(\d+) kB/.exec(Deno.readTextFileSync("/proc/self/status"))?.[1] ?? "?";
} catch {
  // not Linux
}
console.error(`peak-rss-kb ${peak}`);
