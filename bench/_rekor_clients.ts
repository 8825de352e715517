/**
 * The HTTP clients of bench/rekor_http_bench.ts, in their own process so that they do not share
 * the server's thread: `deno run -A bench/_rekor_clients.ts URL CLIENTS COUNT`. It builds
 * COUNT distinct hashedrekord proposals (an artifact and an ECDSA P-256 key of its own each, as
 * keyless signing makes them), then `CLIENTS` loops post them to `URL/api/v1/log/entries` one
 * at a time each, and prints one JSON line: `{ "created": n, "ms": elapsed, "cpuMs": this
 * process's CPU time meanwhile }`. Any answer but 201 fails the run.
 */

import { cpuUsage } from "node:process";
import { generateKeyPair } from "../lib/keys/private_key.ts";
import { sha256, utf8 } from "../lib/util/bytes.ts";

const [url, clientsText, countText] = Deno.args;
const clients = Number(clientsText);
const count = Number(countText);
const run = crypto.randomUUID();
const bodies: string[] = [];
for (let i = 0; i < count; i++) {
  const key = await generateKeyPair();
  const artifact = utf8(`rekor bench ${run} ${i}`);
  bodies.push(JSON.stringify({
    apiVersion: "0.0.1",
    kind: "hashedrekord",
    spec: {
      data: { hash: { algorithm: "sha256", value: sha256(artifact).toHex() } },
      signature: {
        content: (await key.sign(artifact)).toBase64(),
        publicKey: { content: btoa(key.publicKey.toPem()) },
      },
    },
  }));
}
let next = 0;
let created = 0;
const start = performance.now();
const cpuStart = cpuUsage();
await Promise.all(Array.from({ length: clients }, async () => {
  while (next < bodies.length) {
    const body = bodies[next++]!;
    const response = await fetch(`${url}/api/v1/log/entries`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
    await response.arrayBuffer();
    if (response.status !== 201) throw new Error(`append answered ${response.status}`);
    created++;
  }
}));
const ms = performance.now() - start;
const cpu = cpuUsage(cpuStart);
console.log(JSON.stringify({ created, ms, cpuMs: (cpu.user + cpu.system) / 1000 }));
