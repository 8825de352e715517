/**
 * The real-registry harness: Debian's docker-registry (distribution 2.8) started on a loopback
 * port, fed by skopeo (single- and multi-arch layouts) and by the fetch client, and read back
 * with fetch. It has no referrers API, which is what the fallback-tag paths of the library will
 * be tested against.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { executable, requireComponents, tempDir } from "../_support.ts";
import { startDockerRegistry } from "./_docker_registry.ts";
import {
  fetchBlob,
  fetchManifest,
  MEDIA,
  pushLayout,
  pushLayoutWithSkopeo,
  writeOciLayout,
} from "./_oci_layout.ts";

const SUITE = "docker-registry harness";

if (requireComponents(SUITE, executable("docker-registry"), executable("skopeo"))) {
  Deno.test(`${SUITE}: starts on 127.0.0.1 and stops on dispose`, async () => {
    let url: string;
    {
      await using registry = await startDockerRegistry();
      url = registry.url;
      assert.match(registry.host, /^127\.0\.0\.1:\d+$/);
      const res = await fetch(`${url}/v2/`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("docker-distribution-api-version"), "registry/2.0");
      await res.body?.cancel();
    }
    await assert.rejects(fetch(`${url}/v2/`));
  });

  for (const multiArch of [false, true]) {
    const what = multiArch ? "multi-arch" : "single-arch";
    Deno.test(`${SUITE}: skopeo pushes a ${what} layout that fetch reads back by digest`, async () => {
      await using dir = await tempDir();
      await using registry = await startDockerRegistry();
      const layout = await writeOciLayout(dir.path, { multiArch });
      await pushLayoutWithSkopeo(layout, registry.host, "harness/app");
      const top = await fetchManifest(registry.url, "harness/app", layout.tag);
      assert.equal(top.digest, layout.top.digest);
      assert.equal(top.mediaType, multiArch ? MEDIA.index : MEDIA.manifest);
      assert.deepEqual(top.bytes, layout.top.bytes);
      for (const image of layout.images) {
        const child = await fetchManifest(registry.url, "harness/app", image.manifest.digest);
        assert.deepEqual(child.bytes, image.manifest.bytes);
      }
      for (const blob of layout.blobs.values()) {
        assert.deepEqual(await fetchBlob(registry.url, "harness/app", blob.digest), blob.bytes);
      }
    });
  }

  Deno.test(`${SUITE}: the fetch client pushes too; deletes work; no referrers API`, async () => {
    await using dir = await tempDir();
    await using registry = await startDockerRegistry();
    const layout = await writeOciLayout(join(dir.path, "layout"), { multiArch: true });
    assert.equal(
      await pushLayout(layout, registry.url, "client/app", { chunkSize: 1000 }),
      layout.top.digest,
    );
    assert.equal((await fetchManifest(registry.url, "client/app", "v1")).digest, layout.top.digest);

    // distribution 2.8 predates OCI 1.1: clients must fall back to the sha256-<hex> tag.
    const referrers = await fetch(`${registry.url}/v2/client/app/referrers/${layout.top.digest}`);
    assert.equal(referrers.status, 404);
    await referrers.body?.cancel();

    const del = await fetch(`${registry.url}/v2/client/app/manifests/${layout.top.digest}`, {
      method: "DELETE",
    });
    assert.equal(del.status, 202);
    await del.body?.cancel();
    const gone = await fetch(`${registry.url}/v2/client/app/manifests/${layout.top.digest}`, {
      headers: { Accept: MEDIA.index },
    });
    assert.equal(gone.status, 404);
    await gone.body?.cancel();
  });
}
