/**
 * Legacy signatures as OCI 1.1 referrers (mode B) on Debian's docker-registry (distribution 2.8,
 * no referrers API): `sign --new-bundle-format=false --registry-referrers-mode oci-1-1` puts the
 * referrer in the fallback index, and `verify --experimental-oci11` finds it there.
 */

import assert from "node:assert/strict";
import { dcosign } from "../_cli.ts";
import { executable, requireComponents, tempDir } from "../_support.ts";
import { RegistryClient } from "../../lib/oci/client.ts";
import { LEGACY_ARTIFACT_TYPE } from "../../lib/storage/legacy_referrers.ts";
import { startDockerRegistry } from "./_docker_registry.ts";
import { pushLayoutWithSkopeo, writeOciLayout } from "./_oci_layout.ts";

if (
  requireComponents(
    "legacy signature referrers on Debian's docker-registry",
    executable("docker-registry"),
    executable("skopeo"),
  )
) {
  Deno.test("[docker-registry] sign --registry-referrers-mode oci-1-1 writes the fallback index; verify --experimental-oci11 reads it", async () => {
    await using registry = await startDockerRegistry();
    await using dir = await tempDir();
    const run = (argv: string[]) =>
      dcosign(argv, { cwd: dir.path, env: { COSIGN_PASSWORD: "pw" } });
    assert.equal((await run(["generate-key-pair"])).code, 0);
    const layout = await writeOciLayout(`${dir.path}/layout`);
    await pushLayoutWithSkopeo(layout, registry.host, "modeb/app");
    const digest = layout.top.digest;
    const image = `${registry.host}/modeb/app:v1`;
    const signed = await run([
      "sign",
      "--key",
      "cosign.key",
      "--tlog-upload=false",
      "--new-bundle-format=false",
      "--registry-referrers-mode",
      "oci-1-1",
      image,
    ]);
    assert.equal(signed.code, 0, signed.stderr);
    const listed = await new RegistryClient().listReferrers(
      { registry: registry.host, repository: "modeb/app" },
      digest,
    );
    assert.equal(listed.source, "fallback-tag");
    assert.deepEqual(listed.manifests.map((m) => m.artifactType), [LEGACY_ARTIFACT_TYPE.sig]);
    const verify = (extra: string[]) =>
      run(["verify", "--key", "cosign.pub", "--insecure-ignore-tlog", ...extra, image]);
    assert.equal((await verify([])).code, 10);
    const found = await verify(["--experimental-oci11"]);
    assert.equal(found.code, 0, found.stderr);
    assert.equal(JSON.parse(found.stdout)[0].critical.image["docker-manifest-digest"], digest);
  });
}
