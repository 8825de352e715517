/**
 * skopeo (containers/image) as a third-party client of the embedded registry: it pushes OCI
 * layouts in (single-arch gzip and plain tar, multi-arch), inspects them, copies them across
 * repositories and back out to a layout, and every digest survives the round trip.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { sha256Digest } from "../../lib/util/bytes.ts";
import { startStack } from "../../server/mod.ts";
import {
  fetchBlob,
  fetchManifest,
  type OciLayoutOptions,
  pushLayoutWithSkopeo,
  skopeo,
  skopeoCopy,
  writeOciLayout,
} from "../registry/_oci_layout.ts";
import { executable, requireComponents, tempDir } from "../_support.ts";

const SUITE = "registry skopeo interop";

const LAYOUTS: [string, OciLayoutOptions][] = [
  ["single-arch gzip", {}],
  ["single-arch plain tar", { gzip: false }],
  ["multi-arch index", { multiArch: true }],
];

if (requireComponents(SUITE, executable("skopeo"))) {
  for (const [what, options] of LAYOUTS) {
    Deno.test(`${SUITE}: skopeo pushes a ${what} layout in and copies it back out unchanged`, async () => {
      await using dir = await tempDir();
      await using stack = await startStack({ port: 0, dataDir: join(dir.path, "data") });
      const layout = await writeOciLayout(join(dir.path, "in"), options);
      await pushLayoutWithSkopeo(layout, stack.registryHost, "skopeo/app");

      const top = await fetchManifest(stack.url, "skopeo/app", layout.tag);
      assert.equal(top.digest, layout.top.digest);
      assert.deepEqual(top.bytes, layout.top.bytes);
      for (const image of layout.images) {
        const child = await fetchManifest(stack.url, "skopeo/app", image.manifest.digest);
        assert.deepEqual(child.bytes, image.manifest.bytes);
      }
      for (const blob of layout.blobs.values()) {
        assert.deepEqual(await fetchBlob(stack.url, "skopeo/app", blob.digest), blob.bytes);
      }

      const inspect = await skopeo([
        "inspect",
        "--raw",
        "--tls-verify=false",
        `docker://${stack.registryHost}/skopeo/app:${layout.tag}`,
      ]);
      assert.equal(inspect.code, 0, inspect.stderr);
      assert.equal(sha256Digest(new TextEncoder().encode(inspect.stdout)), layout.top.digest);

      // Registry to registry (skopeo tries a cross-repository mount), then back to a layout.
      await skopeoCopy(
        `docker://${stack.registryHost}/skopeo/app:${layout.tag}`,
        `docker://${stack.registryHost}/skopeo/copy:${layout.tag}`,
        { all: true, preserveDigests: true },
      );
      assert.equal(
        (await fetchManifest(stack.url, "skopeo/copy", layout.tag)).digest,
        layout.top.digest,
      );
      const out = join(dir.path, "out");
      await skopeoCopy(
        `docker://${stack.registryHost}/skopeo/copy:${layout.tag}`,
        `oci:${out}:${layout.tag}`,
        { all: true, preserveDigests: true },
      );
      const index = JSON.parse(await Deno.readTextFile(join(out, "index.json"))) as {
        manifests: { digest: string }[];
      };
      assert.deepEqual(index.manifests.map((m) => m.digest), [layout.top.digest]);
      for (const c of [...layout.blobs.values(), ...layout.images.map((i) => i.manifest)]) {
        const bytes = await Deno.readFile(join(out, "blobs", "sha256", c.digest.slice(7)));
        assert.equal(sha256Digest(bytes), c.digest);
      }
    });
  }

  Deno.test(`${SUITE}: skopeo authenticates with Basic credentials and is refused without`, async () => {
    await using dir = await tempDir();
    await using stack = await startStack({
      port: 0,
      registryAuth: { username: "ci", password: "token" },
    });
    const layout = await writeOciLayout(join(dir.path, "in"));
    await assert.rejects(
      pushLayoutWithSkopeo(layout, stack.registryHost, "auth/app"),
      /401|unauthorized|authentication required/i,
    );
    await pushLayoutWithSkopeo(layout, stack.registryHost, "auth/app", { creds: "ci:token" });
    const top = await fetchManifest(stack.url, "auth/app", layout.tag, {
      headers: { Authorization: `Basic ${btoa("ci:token")}` },
    });
    assert.equal(top.digest, layout.top.digest);
  });
}
