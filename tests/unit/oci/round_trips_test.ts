/**
 * Registry round trips under concurrency and across calls (issue 15): concurrent first calls to
 * a bearer-token registry share one challenge and one token per scope; the referrers API's
 * answer is remembered per registry (in memory, and in `ReferrersSupport`'s bounded cache file
 * with a time to live, which survives corruption and an unwritable directory).
 */

import assert from "node:assert/strict";
import { sha256Digest, utf8 } from "../../../lib/util/bytes.ts";
import { RegistryClient } from "../../../lib/oci/client.ts";
import { encodeManifest, MEDIA_TYPE } from "../../../lib/oci/manifest.ts";
import { parseImageReference } from "../../../lib/oci/reference.ts";
import { CACHE_FILE, ReferrersSupport } from "../../../lib/oci/referrers_support.ts";
import { FakeRegistry, type FakeRegistryOptions } from "../_fake_registry.ts";
import { tempDir } from "../../_support.ts";

function seed(fake: FakeRegistry, repo: string): string {
  const config = utf8(`{"architecture":"amd64","os":"linux","repo":"${repo}"}`);
  fake.putBlob(repo, config);
  const bytes = utf8(encodeManifest({
    schemaVersion: 2,
    mediaType: MEDIA_TYPE.OCI_MANIFEST,
    config: { mediaType: MEDIA_TYPE.OCI_CONFIG, size: config.length, digest: sha256Digest(config) },
    layers: [],
  }));
  return fake.putManifest(repo, bytes, MEDIA_TYPE.OCI_MANIFEST, "v1");
}

function registry(options: FakeRegistryOptions, repos: string[]) {
  const fake = new FakeRegistry(options);
  const digests = repos.map((repo) => seed(fake, repo));
  const unauthenticated = () =>
    fake.requests.filter((r) =>
      r.url.pathname.startsWith("/v2/") && !r.headers.has("authorization")
    )
      .length;
  const tokens = () => fake.count(undefined, /^\/token$/);
  return { fake, digests, unauthenticated, tokens };
}

Deno.test("20 concurrent first requests to a token registry cost one challenge and one token", async () => {
  const { fake, unauthenticated, tokens } = registry(
    { auth: { kind: "bearer", anonymousPull: true } },
    ["org/app"],
  );
  const client = new RegistryClient({ fetch: fake.fetch });
  const ref = parseImageReference(`${fake.host}/org/app:v1`);
  await Promise.all(Array.from({ length: 20 }, () => client.getManifest(ref)));
  assert.equal(unauthenticated(), 1, "one 401");
  assert.equal(tokens(), 1, "one token");
});

Deno.test("concurrent requests to 5 repositories: one challenge, one token per repository scope", async () => {
  const repos = Array.from({ length: 5 }, (_, i) => `org/app${i}`);
  const { fake, unauthenticated, tokens } = registry(
    { auth: { kind: "bearer", anonymousPull: true } },
    repos,
  );
  const client = new RegistryClient({ fetch: fake.fetch });
  await Promise.all(
    repos.flatMap((repo) =>
      [1, 2, 3, 4].map(() => client.getManifest(parseImageReference(`${fake.host}/${repo}:v1`)))
    ),
  );
  assert.equal(unauthenticated(), 1);
  assert.equal(tokens(), 5);
});

Deno.test("the referrers API's 404 is remembered: later lookups read the fallback tag directly", async () => {
  const { fake, digests } = registry({ referrersApi: false }, ["org/a", "org/b"]);
  const client = new RegistryClient({ fetch: fake.fetch });
  for (const [i, repo] of ["org/a", "org/b"].entries()) {
    const list = await client.listReferrers({ registry: fake.host, repository: repo }, digests[i]!);
    assert.equal(list.source, "fallback-tag");
  }
  assert.equal(fake.count("GET", /\/referrers\//), 1);
  // With the API, every lookup asks it (one request each, never the fallback tag).
  const api = registry({ referrersApi: true }, ["org/a", "org/b"]);
  const apiClient = new RegistryClient({ fetch: api.fake.fetch });
  for (const [i, repo] of ["org/a", "org/b"].entries()) {
    const list = await apiClient.listReferrers(
      { registry: api.fake.host, repository: repo },
      api.digests[i]!,
    );
    assert.equal(list.source, "referrers-api");
  }
  assert.equal(api.fake.count("GET", /\/referrers\//), 2);
  assert.equal(api.fake.count("GET", /\/manifests\/sha256-/), 0);
});

Deno.test("ReferrersSupport's file carries answers to a new process, with a time to live", async () => {
  await using dir = await tempDir();
  let now = 1_000_000;
  const options = { dir: `${dir.path}/cache`, ttlMs: 60_000, now: () => now };
  new ReferrersSupport(options).set("registry.example", false);
  new ReferrersSupport(options).set("ghcr.example:5000", true);
  const fresh = new ReferrersSupport(options);
  assert.equal(fresh.get("registry.example"), false);
  assert.equal(fresh.get("GHCR.example:5000"), true);
  now += 60_001;
  assert.equal(new ReferrersSupport(options).get("registry.example"), undefined, "expired");
  // Loopback registries (test servers on reused ports) stay in memory only.
  const local = new ReferrersSupport(options);
  local.set("127.0.0.1:5000", false);
  assert.equal(local.get("127.0.0.1:5000"), false);
  assert.equal(new ReferrersSupport(options).get("127.0.0.1:5000"), undefined);
  const text = await Deno.readTextFile(`${dir.path}/cache/${CACHE_FILE}`);
  assert.ok(!text.includes("127.0.0.1"));
  // No temporary file is left behind.
  const names = [...Deno.readDirSync(`${dir.path}/cache`)].map((e) => e.name);
  assert.deepEqual(names, [CACHE_FILE]);
});

Deno.test("ReferrersSupport ignores a corrupt or oversized file and an unwritable directory", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/${CACHE_FILE}`;
  for (const junk of ["{not json", "[]", '{"hosts":{"r.example":{"supported":"yes","at":1}}}']) {
    await Deno.writeTextFile(path, junk);
    const support = new ReferrersSupport({ dir: dir.path });
    assert.equal(support.get("r.example"), undefined, junk);
    support.set("r.example", true); // rewrites the file whole
    assert.equal(new ReferrersSupport({ dir: dir.path }).get("r.example"), true);
  }
  await Deno.writeTextFile(path, `{"hosts":{"r.example":{"supported":true,"at":${Date.now()}}}}`);
  await Deno.writeTextFile(path, " ".repeat(70 * 1024), { append: true });
  assert.equal(new ReferrersSupport({ dir: dir.path }).get("r.example"), undefined, "too large");
  // A directory that cannot be created (a file is in the way): answers stay in memory.
  const blocked = new ReferrersSupport({ dir: `${path}/below` });
  blocked.set("r.example", false);
  assert.equal(blocked.get("r.example"), false);
});
