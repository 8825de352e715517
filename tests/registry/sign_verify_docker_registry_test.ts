/**
 * The key-signing loop against a real registry: Debian's docker-registry (distribution 2.8, no
 * referrers API, so bundles take the fallback-index path), with images pushed by skopeo from an
 * OCI layout, single- and multi-arch.
 */

import assert from "node:assert/strict";
import { dcosign } from "../_cli.ts";
import { executable, requireComponents, tempDir } from "../_support.ts";
import { startDockerRegistry } from "./_docker_registry.ts";
import { pushLayoutWithSkopeo, writeOciLayout } from "./_oci_layout.ts";

if (
  requireComponents(
    "key signing on Debian's docker-registry",
    executable("docker-registry"),
    executable("skopeo"),
  )
) {
  for (const format of ["legacy", "bundle"] as const) {
    Deno.test(`[docker-registry, ${format}] skopeo-pushed images: sign, verify, tamper, verify fails`, async () => {
      await using registry = await startDockerRegistry();
      await using dir = await tempDir();
      const run = (argv: string[]) =>
        dcosign(argv, { cwd: dir.path, env: { COSIGN_PASSWORD: "pw" } });
      assert.equal((await run(["generate-key-pair"])).code, 0);

      // Single-arch and multi-arch images, pushed by skopeo with their digests preserved.
      const single = await writeOciLayout(`${dir.path}/single`);
      await pushLayoutWithSkopeo(single, registry.host, "real/single");
      const multi = await writeOciLayout(`${dir.path}/multi`, { multiArch: true });
      await pushLayoutWithSkopeo(multi, registry.host, "real/multi");
      const formatFlag = `--new-bundle-format=${format === "bundle"}`;

      const signSingle = await run([
        "sign",
        "--key",
        "cosign.key",
        "--tlog-upload=false",
        formatFlag,
        `${registry.host}/real/single:v1`,
      ]);
      assert.equal(signSingle.code, 0, signSingle.stderr);
      const signMulti = await run([
        "sign",
        "--key",
        "cosign.key",
        "--tlog-upload=false",
        "--recursive",
        formatFlag,
        `${registry.host}/real/multi:v1`,
      ]);
      assert.equal(signMulti.code, 0, signMulti.stderr);

      const verify = (ref: string, key = "cosign.pub") =>
        run(["verify", "--key", key, "--insecure-ignore-tlog", ref]);
      const ok = await verify(`${registry.host}/real/single:v1`);
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(
        JSON.parse(ok.stdout)[0].critical.image["docker-manifest-digest"],
        single.top.digest,
      );
      for (const platform of multi.images) {
        const result = await verify(`${registry.host}/real/multi@${platform.manifest.digest}`);
        assert.equal(result.code, 0, result.stderr);
      }
      assert.equal((await verify(`${registry.host}/real/multi:v1`)).code, 0);

      // Tamper: another key's signature is all the registry holds for a fresh image.
      assert.equal((await run(["generate-key-pair", "--output-key-prefix", "evil"])).code, 0);
      const other = await writeOciLayout(`${dir.path}/other`);
      await pushLayoutWithSkopeo(other, registry.host, "real/single", { tag: "v2" });
      const evil = await run([
        "sign",
        "--key",
        "evil.key",
        "--tlog-upload=false",
        formatFlag,
        `${registry.host}/real/single:v2`,
      ]);
      assert.equal(evil.code, 0, evil.stderr);
      const refused = await verify(`${registry.host}/real/single:v2`);
      assert.equal(refused.code, 12, refused.stderr);
      assert.match(refused.stderr, /does not verify with the given key/);
    });
  }
}
