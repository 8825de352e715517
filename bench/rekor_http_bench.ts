/**
 * Embedded Rekor durable appends over HTTP (`dcosign serve` with a data directory: SQLite WAL,
 * synchronous=FULL, every entry committed before its 201), with 1, 8 and 32 concurrent clients
 * in a separate process (bench/_rekor_clients.ts; every entry has its own artifact and key, as
 * keyless signing makes them). The anchor is the same clients against a bare `Deno.serve` that
 * reads each body and answers a fixed 201: the HTTP ceiling of this machine, which no log can
 * pass. Target: >= 1,000 appends/s with 8 clients.
 *
 * Rates on a shared 2-core machine move with other load, so each row also gives the CPU time
 * one append costs the server process (all its threads) and the clients: on two idle cores the
 * rate cannot pass 2000 ms / (server + client CPU ms), and that bound does not move with load.
 *
 *   deno run -A bench/rekor_http_bench.ts     (or deno bench -A bench/rekor_http_bench.ts)
 */

import { cpuUsage } from "node:process";
import { startStack } from "../server/mod.ts";
import { median, printResult } from "./_paired.ts";

const COUNT = Number(Deno.env.get("BENCH_APPENDS") ?? 3000);
const ROUNDS = Number(Deno.env.get("BENCH_ROUNDS") ?? 3);
const clientsScript = new URL("./_rekor_clients.ts", import.meta.url).pathname;

interface Run {
  /** Appends per second. */
  readonly rate: number;
  /** This process's CPU ms per append (the server's threads). */
  readonly serverCpu: number;
  /** The client process's CPU ms per append. */
  readonly clientCpu: number;
}

async function clients(url: string, concurrency: number, count: number): Promise<Run> {
  const before = cpuUsage();
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", clientsScript, url, String(concurrency), String(count)],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (code !== 0) throw new Error(`clients failed: ${new TextDecoder().decode(stderr)}`);
  const { created, ms, cpuMs } = JSON.parse(new TextDecoder().decode(stdout)) as {
    created: number;
    ms: number;
    cpuMs: number;
  };
  // The server's CPU while the clients also built their proposals is idle time: count it all,
  // it only overstates the server's cost.
  const used = cpuUsage(before);
  return {
    rate: created / (ms / 1000),
    serverCpu: (used.user + used.system) / 1000 / created,
    clientCpu: cpuMs / created,
  };
}

const dir = await Deno.makeTempDir({ prefix: "dcosign-rekor-http-" });
const answer = JSON.stringify({ bench: { body: "x".repeat(600) } });
const bare = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, async (request) => {
  await request.arrayBuffer();
  return new Response(answer, { status: 201, headers: { "content-type": "application/json" } });
});
const bareUrl = `http://127.0.0.1:${bare.addr.port}`;
const stack = await startStack({ port: 0, dataDir: dir });
try {
  await clients(stack.url, 8, 300); // warm both up (and start the log's workers)
  await clients(bareUrl, 8, 300);
  for (const concurrency of [1, 8, 32]) {
    const count = concurrency === 1 ? Math.min(COUNT, 1000) : COUNT;
    // Paired: the anchor and dcosign alternate, and the medians are compared.
    const anchor: Run[] = [];
    const log: Run[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      anchor.push(await clients(bareUrl, concurrency, count));
      log.push(await clients(stack.url, concurrency, count));
    }
    const a = median(anchor.map((r) => r.rate));
    const d = median(log.map((r) => r.rate));
    const server = median(log.map((r) => r.serverCpu));
    const client = median(log.map((r) => r.clientCpu));
    const bound = 2000 / (server + client);
    printResult({
      measure: `rekor durable appends over HTTP, ${concurrency} client${
        concurrency > 1 ? "s" : ""
      }`,
      anchor: "bare Deno.serve 201",
      anchorValue: `${a.toFixed(0)}/s`,
      dcosignValue: `${d.toFixed(0)}/s (CPU per append: server ${server.toFixed(2)} ms, ` +
        `clients ${client.toFixed(2)} ms; 2-core bound ${bound.toFixed(0)}/s)`,
      ratio: `${((d / a) * 100).toFixed(0)}% of anchor`,
      target: concurrency === 8 ? ">= 1000/s" : "(none)",
      met: concurrency === 8 ? d >= 1000 : true,
    });
  }
} finally {
  await stack.close();
  await bare.shutdown();
  await Deno.remove(dir, { recursive: true });
}
