/**
 * The registry housekeeping commands against a real registry: Debian's docker-registry
 * (distribution 2.8: no referrers API, so bundle referrers live in the fallback index, and
 * deletes go by digest). Images move between it and the embedded stack with `copy`, through
 * `save`/`load`, and are cleaned there; every step ends with a verification.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { executable, requireComponents } from "../_support.ts";
import { openImageEnv } from "../integration/_image_env.ts";
import { startDockerRegistry } from "./_docker_registry.ts";

const NO_TLOG = ["--tlog-upload=false"];
const KEY_VERIFY = ["verify", "--key", "cosign.pub", "--insecure-ignore-tlog"];

if (
  requireComponents("registry commands on Debian's docker-registry", executable("docker-registry"))
) {
  Deno.test("[docker-registry] copy from the embedded registry and back, save/load/verify, clean then verify exits 10", async () => {
    await using env = await openImageEnv("socket");
    await using registry = await startDockerRegistry();
    const image = await env.push("src/app", { multiArch: true });
    for (const format of ["legacy", "bundle"]) {
      const signed = await env.run([
        "sign",
        "--key",
        "cosign.key",
        ...NO_TLOG,
        `--new-bundle-format=${format === "bundle"}`,
        image.reference,
      ]);
      assert.equal(signed.code, 0, signed.stderr);
    }
    await Deno.writeTextFile(join(env.dir, "predicate.json"), '{"build":1}');
    const attested = await env.run([
      "attest",
      "--key",
      "cosign.key",
      ...NO_TLOG,
      "--type",
      "https://example.com/build/v1",
      "--predicate",
      "predicate.json",
      image.reference,
    ]);
    assert.equal(attested.code, 0, attested.stderr);

    // Embedded -> docker-registry: bundles land in the fallback index there.
    const remote = `${registry.host}/mirror/app:v1`;
    const copied = await env.run(["copy", image.reference, remote]);
    assert.equal(copied.code, 0, copied.stderr);
    const verified = await env.run([...KEY_VERIFY, remote]);
    assert.equal(verified.code, 0, verified.stderr);
    // The bundle verified, so the legacy `.sig` tag is not read (issue 15: one round trip less).
    assert.equal(JSON.parse(verified.stdout).length, 1);
    const attestation = await env.run([
      "verify-attestation",
      "--key",
      "cosign.pub",
      "--insecure-ignore-tlog",
      "--type",
      "https://example.com/build/v1",
      remote,
    ]);
    assert.equal(attestation.code, 0, attestation.stderr);
    const tree = JSON.parse((await env.run(["tree", "-o", "json", remote])).stdout);
    assert.equal(tree.digest, image.digest);
    assert.equal(tree.referrersSource, "fallback-tag");
    assert.equal(tree.referrers.length, 2);

    // docker-registry -> disk -> another docker-registry repository.
    const saved = await env.run(["save", "--dir", "layout", remote]);
    assert.equal(saved.code, 0, saved.stderr);
    const restored = `${registry.host}/restored/app:v1`;
    const loaded = await env.run(["load", "--dir", "layout", restored]);
    assert.equal(loaded.code, 0, loaded.stderr);
    assert.equal((await env.run([...KEY_VERIFY, restored])).code, 0);

    // docker-registry -> back to the embedded registry, in a new repository.
    const back = `${env.registry}/returned/app:v1`;
    const returned = await env.run(["copy", remote, back]);
    assert.equal(returned.code, 0, returned.stderr);
    const again = await env.run([...KEY_VERIFY, back]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(JSON.parse(again.stdout).length, 1); // the bundle; `.sig` is not read after it

    // Clean on docker-registry: tags and referrers go (deleted by digest), the fallback index too.
    const cleaned = await env.run(["clean", "-f", restored]);
    assert.equal(cleaned.code, 0, cleaned.stderr);
    const after = await env.run([...KEY_VERIFY, restored]);
    assert.equal(after.code, 10, after.stderr);
    assert.match(after.stderr, /No signatures found/);
    const empty = JSON.parse((await env.run(["tree", "-o", "json", restored])).stdout);
    assert.deepEqual(empty.attachments, []);
    assert.deepEqual(empty.referrers, []);
    // The other copies are untouched.
    assert.equal((await env.run([...KEY_VERIFY, remote])).code, 0);
  });
}
