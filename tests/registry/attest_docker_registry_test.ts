/**
 * Image attestations on a real registry: Debian's docker-registry (distribution 2.8, no
 * referrers API), with a skopeo-pushed image. In bundle mode the signature and the attestation
 * are referrers recorded in the fallback index tag `sha256-<hex>`; in legacy mode they are the
 * `.sig` and `.att` tags. The transparency log is the embedded stack's, over a socket.
 */

import assert from "node:assert/strict";
import { fromBase64, fromUtf8 } from "../../lib/util/bytes.ts";
import { encodeTrustedRoot } from "../../lib/trust/trusted_root.ts";
import { startStack } from "../../server/mod.ts";
import { dcosign } from "../_cli.ts";
import { executable, requireComponents, tempDir } from "../_support.ts";
import { startDockerRegistry } from "./_docker_registry.ts";
import { pushLayoutWithSkopeo, writeOciLayout } from "./_oci_layout.ts";

const SLSA_V02 = "https://slsa.dev/provenance/v0.2";
const BUNDLE_ARTIFACT_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json";

const PROVENANCE = {
  builder: { id: "https://github.com/octo/app/.github/workflows/release.yml@refs/heads/main" },
  buildType: "https://github.com/slsa-framework/slsa-github-generator/generic@v1",
  invocation: { configSource: { uri: "git+https://github.com/octo/app@refs/heads/main" } },
};

if (
  requireComponents(
    "attestations on Debian's docker-registry",
    executable("docker-registry"),
    executable("skopeo"),
  )
) {
  for (const format of ["bundle", "legacy"] as const) {
    Deno.test(`[docker-registry, ${format}] sign, attest --type slsaprovenance, verify and verify-attestation; --type spdx fails`, async () => {
      await using registry = await startDockerRegistry();
      await using stack = await startStack({ port: 0 });
      await using dir = await tempDir();
      const run = (argv: string[]) =>
        dcosign(argv, { cwd: dir.path, env: { COSIGN_PASSWORD: "pw" } });
      assert.equal((await run(["generate-key-pair"])).code, 0);
      await Deno.writeTextFile(
        `${dir.path}/trusted_root.json`,
        JSON.stringify(encodeTrustedRoot(stack.trust.trustedRoot)),
      );
      await Deno.writeTextFile(`${dir.path}/provenance.json`, JSON.stringify(PROVENANCE));
      const layout = await writeOciLayout(`${dir.path}/image`);
      await pushLayoutWithSkopeo(layout, registry.host, "real/attested");
      const image = `${registry.host}/real/attested:v1`;
      const digest = layout.top.digest;
      const formatFlag = `--new-bundle-format=${format === "bundle"}`;
      const signWith = ["--key", "cosign.key", "--rekor-url", stack.url, formatFlag];
      const verifyWith = ["--key", "cosign.pub", "--trusted-root", "trusted_root.json"];

      const signed = await run(["sign", ...signWith, image]);
      assert.equal(signed.code, 0, signed.stderr);
      const attested = await run([
        "attest",
        ...signWith,
        "--type",
        "slsaprovenance",
        "--predicate",
        "provenance.json",
        image,
      ]);
      assert.equal(attested.code, 0, attested.stderr);

      // Where they went: the fallback index (no referrers API here), or the legacy tags.
      const hex = digest.slice("sha256:".length);
      const tags = await (await fetch(`${registry.url}/v2/real/attested/tags/list`)).json();
      if (format === "bundle") {
        const referrers = await fetch(`${registry.url}/v2/real/attested/referrers/${digest}`);
        await referrers.body?.cancel();
        assert.notEqual(referrers.status, 200);
        assert.deepEqual(tags.tags.sort(), [`sha256-${hex}`, "v1"]);
        const index = await (await fetch(
          `${registry.url}/v2/real/attested/manifests/sha256-${hex}`,
          { headers: { accept: "application/vnd.oci.image.index.v1+json" } },
        )).json();
        assert.equal(index.manifests.length, 2);
        for (const entry of index.manifests) {
          assert.equal(entry.artifactType, BUNDLE_ARTIFACT_TYPE);
        }
      } else {
        assert.deepEqual(tags.tags.sort(), [`sha256-${hex}.att`, `sha256-${hex}.sig`, "v1"]);
      }

      const verified = await run(["verify", ...verifyWith, image]);
      assert.equal(verified.code, 0, verified.stderr);
      const signatures = JSON.parse(verified.stdout);
      assert.equal(signatures.length, 1);
      assert.equal(signatures[0].critical.image["docker-manifest-digest"], digest);

      const attestations = await run([
        "verify-attestation",
        ...verifyWith,
        "--type",
        "slsaprovenance",
        image,
      ]);
      assert.equal(attestations.code, 0, attestations.stderr);
      const lines = attestations.stdout.trim().split("\n");
      assert.equal(lines.length, 1);
      const statement = JSON.parse(fromUtf8(fromBase64(JSON.parse(lines[0]!).payload)));
      assert.equal(statement.predicateType, SLSA_V02);
      assert.deepEqual(statement.subject[0].digest, { sha256: hex });
      assert.match(attestations.stderr, /Existence of the claims in the transparency log/);

      const spdx = await run(["verify-attestation", ...verifyWith, "--type", "spdx", image]);
      assert.equal(spdx.code, 1, spdx.stderr);
      assert.equal(spdx.stdout, "");
      assert.match(spdx.stderr, /No attestation of type "https:\/\/spdx.dev\/Document"/);
      assert.ok(spdx.stderr.includes(`"${SLSA_V02}"`), spdx.stderr);
    });
  }
}
