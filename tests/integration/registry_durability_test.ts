/**
 * `dcosign serve` lifecycle: the ready file, restarts on the same data directory, a `kill -9`
 * right after an acknowledged PUT, and clean shutdown on SIGINT/SIGTERM (in a subprocess running
 * `serveStack`, the function the CLI calls).
 */

import assert from "node:assert/strict";
import { parseTrustedRoot } from "../../lib/trust/trusted_root.ts";
import { parseSigningConfig } from "../../lib/trust/signing_config.ts";
import { join } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";
import { utf8 } from "../../lib/util/bytes.ts";
import { type ReadyInfo, startStack } from "../../server/mod.ts";
import {
  content,
  descriptor,
  fetchBlob,
  fetchManifest,
  MEDIA,
  pushBlob,
  pushManifest,
} from "../registry/_oci_layout.ts";
import { exists, tempDir } from "../_support.ts";

const SERVE_SCRIPT = fromFileUrl(new URL("./_serve_stack.ts", import.meta.url));

async function waitForReady(path: string, child?: Deno.ChildProcess): Promise<ReadyInfo> {
  let exited = false;
  child?.status.then(() => exited = true);
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && !exited) {
    try {
      return JSON.parse(await Deno.readTextFile(path)) as ReadyInfo;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  throw new Error(`No ready file at ${path}${exited ? " (the server exited)" : ""}`);
}

function spawnServe(options: Record<string, unknown>): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", SERVE_SCRIPT, JSON.stringify(options)],
    stdin: "null",
    stdout: "null",
    stderr: "inherit",
  }).spawn();
}

/** Push an image (empty config + one layer) tagged `tag`; returns what was pushed. */
async function pushImage(base: string, repo: string, tag: string) {
  const config = content("application/vnd.oci.empty.v1+json", utf8("{}"));
  const layer = content(MEDIA.layer, crypto.getRandomValues(new Uint8Array(5000)));
  await pushBlob(base, repo, config);
  await pushBlob(base, repo, layer, { chunkSize: 2000 });
  const manifest = content(
    MEDIA.manifest,
    utf8(JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA.manifest,
      config: descriptor(config),
      layers: [descriptor(layer)],
    })),
  );
  await pushManifest(base, repo, tag, manifest);
  return { layer, manifest };
}

Deno.test("startStack() writes the ready file (every service, trust files, the TUF mirror and root, a token) after listening and removes it on close", async () => {
  await using dir = await tempDir();
  const readyFile = join(dir.path, "ready.json");
  await Deno.writeTextFile(readyFile, '{"registry":"stale:1"}');
  const stack = await startStack({ port: 0, readyFile });
  try {
    const ready = JSON.parse(await Deno.readTextFile(readyFile));
    const url = `http://${stack.registryHost}`;
    assert.deepEqual(
      { ...ready, idToken: undefined },
      {
        registry: stack.registryHost,
        rekor: url,
        rekorV2: `${url}/rekor-v2`,
        fulcio: url,
        tsa: `${url}/api/v1/timestamp`,
        oidcIssuer: url,
        trustedRoot: join(dir.path, "trusted_root.json"),
        signingConfig: join(dir.path, "signing_config.json"),
        signingConfigRekorV2: join(dir.path, "signing_config_rekor_v2.json"),
        tufMirror: `${url}/tuf`,
        tufRoot: join(dir.path, "1.root.json"),
        identity: "signer@dcosign.test",
        issuer: url,
        idToken: undefined,
        pid: Deno.pid, // the serving process, for `kill "$pid"`
      },
    );
    const claims = JSON.parse(
      new TextDecoder().decode(Uint8Array.fromBase64(ready.idToken.split(".")[1], {
        alphabet: "base64url",
      })),
    );
    assert.equal(claims.iss, url);
    assert.equal(claims.email, "signer@dcosign.test");
    const root = parseTrustedRoot(await Deno.readTextFile(ready.trustedRoot));
    assert.deepEqual(root.tlogs.map((l) => l.baseUrl), [url, `${url}/rekor-v2`]);
    assert.equal(root.certificateAuthorities.length, 1);
    assert.equal(root.ctlogs.length, 1);
    assert.equal(root.timestampAuthorities.length, 1);
    const config = parseSigningConfig(await Deno.readTextFile(ready.signingConfig));
    assert.equal(config.rekorTlogUrls[0]!.url, url);
    assert.match(stack.registryHost, /^127\.0\.0\.1:\d+$/);
    assert.notEqual(stack.port, 0);
    const res = await fetch(`http://${ready.registry}/v2/`);
    assert.equal(res.status, 200);
    await res.body?.cancel();
    assert.deepEqual(
      [...Deno.readDirSync(dir.path)].map((e) => e.name).sort(),
      [
        "1.root.json",
        "ready.json",
        "signing_config.json",
        "signing_config_rekor_v2.json",
        "trusted_root.json",
      ],
      "no temp file left beside the ready file",
    );
  } finally {
    await stack.close();
  }
  assert.ok(!exists(readyFile));
  await stack.finished;
});

Deno.test("startStack() closes when its signal aborts", async () => {
  const controller = new AbortController();
  const stack = await startStack({ port: 0, signal: controller.signal });
  controller.abort();
  await stack.finished;
  await assert.rejects(fetch(`${stack.url}/v2/`));
});

Deno.test("restarting on the same data dir keeps blobs, manifests and tags", async () => {
  await using dir = await tempDir();
  const first = await startStack({ port: 0, dataDir: dir.path });
  let pushed;
  try {
    pushed = await pushImage(first.url, "keep/app", "v1");
  } finally {
    await first.close();
  }
  await using second = await startStack({ port: 0, dataDir: dir.path });
  const manifest = await fetchManifest(second.url, "keep/app", "v1");
  assert.deepEqual(manifest.bytes, pushed.manifest.bytes);
  assert.deepEqual(
    await fetchBlob(second.url, "keep/app", pushed.layer.digest),
    pushed.layer.bytes,
  );
  const tags = await fetch(`${second.url}/v2/keep/app/tags/list`);
  assert.deepEqual(await tags.json(), { name: "keep/app", tags: ["v1"] });
});

Deno.test("kill -9 right after an acknowledged PUT keeps the blob and the manifest", async () => {
  await using dir = await tempDir();
  const dataDir = join(dir.path, "data");
  const readyFile = join(dir.path, "ready.json");
  const child = spawnServe({ port: 0, dataDir, readyFile });
  let pushed;
  try {
    const ready = await waitForReady(readyFile, child);
    pushed = await pushImage(`http://${ready.registry}`, "crash/app", "v1");
  } finally {
    child.kill("SIGKILL");
  }
  const status = await child.status;
  assert.equal(status.signal, "SIGKILL");
  await using restarted = await startStack({ port: 0, dataDir, readyFile });
  const manifest = await fetchManifest(restarted.url, "crash/app", "v1");
  assert.deepEqual(manifest.bytes, pushed.manifest.bytes);
  assert.equal(manifest.digest, pushed.manifest.digest);
  assert.deepEqual(
    await fetchBlob(restarted.url, "crash/app", pushed.layer.digest),
    pushed.layer.bytes,
  );
});

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  Deno.test(`serveStack() closes cleanly on ${signal} and exits 0`, async () => {
    await using dir = await tempDir();
    const readyFile = join(dir.path, "ready.json");
    const dataDir = join(dir.path, "data");
    const child = spawnServe({ port: 0, dataDir, readyFile });
    let ready: ReadyInfo;
    try {
      ready = await waitForReady(readyFile, child);
      await pushImage(`http://${ready.registry}`, "sig/app", "v1");
    } finally {
      child.kill(signal);
    }
    const status = await child.status;
    assert.equal(status.code, 0);
    assert.ok(!exists(readyFile), "the ready file is removed on a clean stop");
    await assert.rejects(fetch(`http://${ready.registry}/v2/`));
    await using again = await startStack({ port: 0, dataDir });
    assert.equal((await fetchManifest(again.url, "sig/app", "v1")).mediaType, MEDIA.manifest);
  });
}
