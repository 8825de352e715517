/**
 * Real cosign 2.5 (Debian 13) against dcosign, both directions, on the embedded registry and on
 * Debian's docker-registry (no referrers API), with the embedded stack as Rekor, Fulcio (its v1
 * API, which cosign 2.x calls) and OIDC issuer:
 *
 * - cosign signs (key and keyless, legacy `.sig`: cosign 2.5 cannot sign images as bundles) and
 *   attests (key and keyless, legacy `.att` and `--new-bundle-format` bundle referrers, which on
 *   docker-registry go through ggcr's fallback index with "empty"-typed entries); dcosign verifies,
 *   and reads the bundles with tree and download;
 * - dcosign signs (legacy) and attests (legacy and bundle, key and keyless); cosign verifies with
 *   `verify` and `verify-attestation`. (cosign 2.5 verifies no image-signature bundle: its
 *   `VerifyImageSignatures` answers "bundle support for image signatures is not yet implemented".)
 * - blobs: each signs (key and keyless, bundle and legacy outputs), the other runs `verify-blob`;
 * - a tampered payload is refused by both.
 *
 * cosign trusts the stack through `SIGSTORE_ROOT_FILE`, `SIGSTORE_CT_LOG_PUBLIC_KEY_FILE` and
 * `SIGSTORE_REKOR_PUBLIC_KEY` (its legacy path reads no trusted root), plus `--trusted-root` for
 * bundles; no `--insecure-ignore-sct` is needed: the stack's certificates carry an SCT the CT key
 * verifies. Registries on 127.0.0.1 are plain HTTP, which ggcr allows for loopback by itself.
 */

import assert from "node:assert/strict";
import { executable, peerTool, requireComponents } from "../_support.ts";
import { fetchManifest } from "../registry/_oci_layout.ts";
import {
  IDENTITY,
  openPeerEnv,
  type PeerEnv,
  PROVENANCE,
  type RegistryKind,
  tamperLegacySignature,
} from "./_peers.ts";

const COSIGN = peerTool("COSIGN");

function ok(result: { code: number; stdout: string; stderr: string }, what: string): void {
  assert.equal(result.code, 0, `${what} failed:\n${result.stdout}\n${result.stderr}`);
}

function refused(result: { code: number; stdout: string; stderr: string }, what: string): void {
  assert.notEqual(result.code, 0, `${what} should have failed:\n${result.stdout}`);
}

/** Everything a peer suite needs once per registry: keys of both tools and the trust files. */
async function prepare(env: PeerEnv) {
  const cosign = (args: string[], extra: Record<string, string> = {}) =>
    env.run(COSIGN.path()!, args, { ...env.cosignTrustEnv, ...extra });
  await Deno.mkdir(`${env.dir}/peer`);
  ok(
    await env.run(COSIGN.path()!, ["generate-key-pair", "--output-key-prefix", "peer/cosign"]),
    "cosign generate-key-pair",
  );
  ok(await env.dcosign(["generate-key-pair"]), "dcosign generate-key-pair");
  await Deno.writeTextFile(`${env.dir}/provenance.json`, JSON.stringify(PROVENANCE));
  const keyless = async () => [
    "--fulcio-url",
    env.url,
    "--rekor-url",
    env.url,
    "--oidc-issuer",
    env.url,
    "--identity-token",
    await env.token(),
  ];
  const byIdentity = [
    "--certificate-identity",
    IDENTITY,
    "--certificate-oidc-issuer",
    env.url,
  ];
  const dcKeyless = async () => [
    "--signing-config",
    env.trust.signingConfig,
    "--trusted-root",
    env.trust.trustedRoot,
    "--identity-token",
    await env.token(),
    "--yes",
  ];
  return { cosign, keyless, byIdentity, dcKeyless };
}

if (requireComponents("cosign 2.5 interop", COSIGN, executable("docker-registry"))) {
  for (const kind of ["embedded", "docker-registry"] as RegistryKind[]) {
    Deno.test(`[${kind}] real cosign 2.5 and dcosign sign, attest and verify each other's images`, async (t) => {
      await using env = await openPeerEnv(kind);
      const { cosign, keyless, byIdentity, dcKeyless } = await prepare(env);
      const trustedRoot = ["--trusted-root", env.trust.trustedRoot];

      await t.step("cosign sign --key (legacy .sig, logged) -> dcosign verify --key", async () => {
        const image = await env.push("cosign/key");
        ok(
          await cosign([
            "sign",
            "--key",
            "peer/cosign.key",
            "--rekor-url",
            env.url,
            "-y",
            image.reference,
          ]),
          "cosign sign",
        );
        const verified = await env.dcosign([
          "verify",
          "--key",
          "peer/cosign.pub",
          ...trustedRoot,
          image.reference,
        ]);
        ok(verified, "dcosign verify");
        assert.match(verified.stderr, /transparency log was verified offline/);
        assert.equal(
          JSON.parse(verified.stdout)[0].critical.image["docker-manifest-digest"],
          image.digest,
        );
        // The wrong key is refused.
        refused(
          await env.dcosign(["verify", "--key", "cosign.pub", ...trustedRoot, image.reference]),
          "dcosign verify with another key",
        );
      });

      await t.step(
        "cosign sign keyless (Fulcio v1 of dcosign serve) -> dcosign verify by identity",
        async () => {
          const image = await env.push("cosign/keyless");
          ok(
            await cosign(["sign", ...await keyless(), "-y", image.reference]),
            "cosign sign keyless",
          );
          const verified = await env.dcosign([
            "verify",
            ...byIdentity,
            ...trustedRoot,
            image.reference,
          ]);
          ok(verified, "dcosign verify keyless");
          assert.match(verified.stderr, /SCT was verified/);
          assert.equal(JSON.parse(verified.stdout)[0].optional.Subject, IDENTITY);
          refused(
            await env.dcosign([
              "verify",
              "--certificate-identity",
              "someone@else.test",
              "--certificate-oidc-issuer",
              env.url,
              ...trustedRoot,
              image.reference,
            ]),
            "dcosign verify with another identity",
          );
        },
      );

      for (const format of ["legacy", "bundle"] as const) {
        const bundleFlag = format === "bundle" ? ["--new-bundle-format"] : [];
        await t.step(
          `cosign attest --key (${format}) -> dcosign verify-attestation, tree, download, copy, clean`,
          async () => {
            const image = await env.push(`cosign/att-${format}`);
            ok(
              await cosign([
                "attest",
                ...bundleFlag,
                "--key",
                "peer/cosign.key",
                "--rekor-url",
                env.url,
                "--type",
                "slsaprovenance",
                "--predicate",
                "provenance.json",
                "-y",
                image.reference,
              ]),
              "cosign attest",
            );
            const verified = await env.dcosign([
              "verify-attestation",
              "--key",
              "peer/cosign.pub",
              ...trustedRoot,
              "--type",
              "slsaprovenance",
              image.reference,
            ]);
            ok(verified, "dcosign verify-attestation");
            const envelope = JSON.parse(verified.stdout.trim().split("\n")[0]!);
            const statement = JSON.parse(atob(envelope.payload));
            assert.equal(statement.subject[0].digest.sha256, image.digest.slice(7));
            assert.deepEqual(statement.predicate.builder, PROVENANCE.builder);
            const tree = await env.dcosign(["tree", "-o", "json", image.reference]);
            ok(tree, "dcosign tree");
            const found = JSON.parse(tree.stdout);
            if (format === "bundle") {
              assert.equal(found.referrers.length, 1);
              assert.equal(found.referrers[0].kind, "att");
              assert.equal(
                found.referrers[0].artifactType,
                "application/vnd.dev.sigstore.bundle.v0.3+json",
              );
              assert.equal(
                found.referrersSource,
                kind === "embedded" ? "referrers-api" : "fallback-tag",
              );
              if (kind === "docker-registry") {
                // What cosign 2.5 (ggcr < 0.21.6) really writes: an entry typed "empty", so
                // only the referenced manifest says it is a bundle.
                const index = await fetchManifest(
                  `http://${env.registry}`,
                  "cosign/att-bundle",
                  `sha256-${image.digest.slice(7)}`,
                );
                const entries = JSON.parse(new TextDecoder().decode(index.bytes)).manifests;
                assert.deepEqual(
                  entries.map((e: { artifactType?: string }) => e.artifactType),
                  ["application/vnd.oci.empty.v1+json"],
                );
                assert.equal(entries[0].annotations, undefined);
              }
            } else {
              assert.deepEqual(found.attachments.map((a: { kind: string }) => a.kind), ["att"]);
            }
            const downloaded = await env.dcosign(["download", "attestation", image.reference]);
            ok(downloaded, "dcosign download attestation");
            assert.equal(downloaded.stdout.trim().split("\n").length, 1);
            // copy takes cosign's attestation along, and clean removes it.
            const copy = `${env.registry}/copied/att-${format}:v1`;
            ok(await env.dcosign(["copy", image.reference, copy]), "dcosign copy");
            const verifyCopy = [
              "verify-attestation",
              "--key",
              "peer/cosign.pub",
              ...trustedRoot,
              "--type",
              "slsaprovenance",
            ];
            ok(await env.dcosign([...verifyCopy, copy]), "dcosign verify-attestation of the copy");
            ok(
              await env.dcosign(["clean", "-f", "--type", "attestation", image.reference]),
              "dcosign clean",
            );
            const cleaned = await env.dcosign([...verifyCopy, image.reference]);
            assert.match(cleaned.stderr, /No attestations found/);
          },
        );
      }

      await t.step(
        "cosign attest keyless --new-bundle-format -> dcosign verify-attestation by identity",
        async () => {
          const image = await env.push("cosign/att-keyless");
          ok(
            await cosign([
              "attest",
              "--new-bundle-format",
              ...await keyless(),
              "--type",
              "slsaprovenance",
              "--predicate",
              "provenance.json",
              "-y",
              image.reference,
            ]),
            "cosign attest keyless",
          );
          ok(
            await env.dcosign([
              "verify-attestation",
              ...byIdentity,
              ...trustedRoot,
              "--type",
              "slsaprovenance",
              image.reference,
            ]),
            "dcosign verify-attestation keyless",
          );
        },
      );

      await t.step("dcosign sign --key (legacy, logged) -> cosign verify --key", async () => {
        const image = await env.push("dcosign/key");
        ok(
          await env.dcosign([
            "sign",
            "--key",
            "cosign.key",
            "--rekor-url",
            env.url,
            "--new-bundle-format=false",
            image.reference,
          ]),
          "dcosign sign",
        );
        const verified = await cosign(["verify", "--key", "cosign.pub", image.reference]);
        ok(verified, "cosign verify");
        assert.match(
          verified.stderr,
          /Existence of the claims in the transparency log was verified offline/,
        );
        assert.equal(
          JSON.parse(verified.stdout)[0].critical.image["docker-manifest-digest"],
          image.digest,
        );
        refused(
          await cosign(["verify", "--key", "peer/cosign.pub", image.reference]),
          "cosign verify with another key",
        );
      });

      await t.step("dcosign sign keyless (legacy) -> cosign verify by identity", async () => {
        const image = await env.push("dcosign/keyless");
        ok(
          await env.dcosign([
            "sign",
            ...await dcKeyless(),
            "--new-bundle-format=false",
            image.reference,
          ]),
          "dcosign sign keyless",
        );
        const verified = await cosign(["verify", ...byIdentity, image.reference]);
        ok(verified, "cosign verify keyless");
        assert.match(verified.stderr, /code-signing certificate was verified/);
        refused(
          await cosign([
            "verify",
            "--certificate-identity",
            "someone@else.test",
            "--certificate-oidc-issuer",
            env.url,
            image.reference,
          ]),
          "cosign verify with another identity",
        );
      });

      for (const format of ["legacy", "bundle"] as const) {
        const cosignFormat = format === "bundle" ? ["--new-bundle-format", ...trustedRoot] : [];
        await t.step(
          `dcosign attest --key (${format}) -> cosign verify-attestation --key`,
          async () => {
            const image = await env.push(`dcosign/att-${format}`);
            ok(
              await env.dcosign([
                "attest",
                "--key",
                "cosign.key",
                "--rekor-url",
                env.url,
                `--new-bundle-format=${format === "bundle"}`,
                "--type",
                "slsaprovenance",
                "--predicate",
                "provenance.json",
                image.reference,
              ]),
              "dcosign attest",
            );
            const verified = await cosign([
              "verify-attestation",
              ...cosignFormat,
              "--key",
              "cosign.pub",
              "--type",
              "slsaprovenance",
              image.reference,
            ]);
            ok(verified, "cosign verify-attestation");
            assert.match(verified.stderr, /The cosign claims were validated/);
          },
        );
      }

      await t.step(
        "dcosign attest keyless (bundle) -> cosign verify-attestation --new-bundle-format by identity",
        async () => {
          const image = await env.push("dcosign/att-keyless");
          ok(
            await env.dcosign([
              "attest",
              ...await dcKeyless(),
              "--type",
              "slsaprovenance",
              "--predicate",
              "provenance.json",
              image.reference,
            ]),
            "dcosign attest keyless",
          );
          ok(
            await cosign([
              "verify-attestation",
              "--new-bundle-format",
              ...trustedRoot,
              ...byIdentity,
              "--type",
              "slsaprovenance",
              image.reference,
            ]),
            "cosign verify-attestation keyless",
          );
        },
      );

      await t.step("a tampered payload is refused by both, whoever signed", async () => {
        const byDcosign = await env.push("tamper/dcosign");
        ok(
          await env.dcosign([
            "sign",
            "--key",
            "cosign.key",
            "--rekor-url",
            env.url,
            "--new-bundle-format=false",
            byDcosign.reference,
          ]),
          "dcosign sign",
        );
        const byCosign = await env.push("tamper/cosign");
        ok(
          await cosign([
            "sign",
            "--key",
            "peer/cosign.key",
            "--rekor-url",
            env.url,
            "-y",
            byCosign.reference,
          ]),
          "cosign sign",
        );
        for (
          const [image, pub] of [[byDcosign, "cosign.pub"], [byCosign, "peer/cosign.pub"]] as const
        ) {
          // Both accept the untouched signature first, so the refusal below is the tampering's.
          ok(await cosign(["verify", "--key", pub, image.reference]), "cosign verify before");
          ok(
            await env.dcosign(["verify", "--key", pub, ...trustedRoot, image.reference]),
            "dcosign verify before",
          );
          await tamperLegacySignature(env, image);
          refused(
            await cosign(["verify", "--key", pub, image.reference]),
            "cosign verify of a tampered payload",
          );
          const dc = await env.dcosign(["verify", "--key", pub, ...trustedRoot, image.reference]);
          assert.equal(dc.code, 12, dc.stderr);
        }
      });
    });
  }

  Deno.test("[blobs] real cosign 2.5 and dcosign sign and verify each other's blobs (bundle and legacy, key and keyless)", async (t) => {
    await using env = await openPeerEnv("embedded");
    const { cosign, keyless, byIdentity, dcKeyless } = await prepare(env);
    const trustedRoot = ["--trusted-root", env.trust.trustedRoot];
    await Deno.writeTextFile(`${env.dir}/blob.txt`, "release v1.0\n");
    await Deno.writeTextFile(`${env.dir}/other.txt`, "release v1.1\n");

    await t.step(
      "cosign sign-blob --new-bundle-format (key, keyless) -> dcosign verify-blob",
      async () => {
        ok(
          await cosign([
            "sign-blob",
            "--new-bundle-format",
            "--key",
            "peer/cosign.key",
            "--rekor-url",
            env.url,
            "--bundle",
            "c-key.bundle",
            "-y",
            "blob.txt",
          ]),
          "cosign sign-blob --key",
        );
        ok(
          await env.dcosign([
            "verify-blob",
            "--key",
            "peer/cosign.pub",
            ...trustedRoot,
            "--bundle",
            "c-key.bundle",
            "blob.txt",
          ]),
          "dcosign verify-blob --key",
        );
        ok(
          await cosign([
            "sign-blob",
            "--new-bundle-format",
            ...await keyless(),
            "--bundle",
            "c-kl.bundle",
            "-y",
            "blob.txt",
          ]),
          "cosign sign-blob keyless",
        );
        ok(
          await env.dcosign([
            "verify-blob",
            ...byIdentity,
            ...trustedRoot,
            "--bundle",
            "c-kl.bundle",
            "blob.txt",
          ]),
          "dcosign verify-blob keyless",
        );
        for (const bundle of ["c-key.bundle", "c-kl.bundle"]) {
          const args = bundle === "c-key.bundle" ? ["--key", "peer/cosign.pub"] : byIdentity;
          refused(
            await env.dcosign([
              "verify-blob",
              ...args,
              ...trustedRoot,
              "--bundle",
              bundle,
              "other.txt",
            ]),
            "dcosign verify-blob of another blob",
          );
        }
      },
    );

    await t.step(
      "cosign sign-blob legacy (signature + legacy bundle) -> dcosign verify-blob",
      async () => {
        ok(
          await cosign([
            "sign-blob",
            "--key",
            "peer/cosign.key",
            "--rekor-url",
            env.url,
            "--output-signature",
            "c.sig",
            "--bundle",
            "c-legacy.bundle",
            "-y",
            "blob.txt",
          ]),
          "cosign sign-blob legacy",
        );
        ok(
          await env.dcosign([
            "verify-blob",
            "--key",
            "peer/cosign.pub",
            ...trustedRoot,
            "--bundle",
            "c-legacy.bundle",
            "blob.txt",
          ]),
          "dcosign verify-blob of a legacy bundle",
        );
        ok(
          await env.dcosign([
            "verify-blob",
            "--key",
            "peer/cosign.pub",
            ...trustedRoot,
            "--signature",
            "c.sig",
            "--rekor-url",
            env.url,
            "blob.txt",
          ]),
          "dcosign verify-blob of a detached signature",
        );
      },
    );

    await t.step(
      "dcosign sign-blob (bundle: key, keyless; legacy) -> cosign verify-blob",
      async () => {
        ok(
          await env.dcosign([
            "sign-blob",
            "--key",
            "cosign.key",
            "--rekor-url",
            env.url,
            "--bundle",
            "d-key.bundle",
            "blob.txt",
          ]),
          "dcosign sign-blob --key",
        );
        ok(
          await cosign([
            "verify-blob",
            "--new-bundle-format",
            ...trustedRoot,
            "--key",
            "cosign.pub",
            "--bundle",
            "d-key.bundle",
            "blob.txt",
          ]),
          "cosign verify-blob --key",
        );
        ok(
          await env.dcosign([
            "sign-blob",
            ...await dcKeyless(),
            "--bundle",
            "d-kl.bundle",
            "blob.txt",
          ]),
          "dcosign sign-blob keyless",
        );
        ok(
          await cosign([
            "verify-blob",
            "--new-bundle-format",
            ...trustedRoot,
            ...byIdentity,
            "--bundle",
            "d-kl.bundle",
            "blob.txt",
          ]),
          "cosign verify-blob keyless",
        );
        ok(
          await env.dcosign([
            "sign-blob",
            "--key",
            "cosign.key",
            "--rekor-url",
            env.url,
            "--new-bundle-format=false",
            "--bundle",
            "d-legacy.bundle",
            "blob.txt",
          ]),
          "dcosign sign-blob legacy",
        );
        ok(
          await cosign([
            "verify-blob",
            "--key",
            "cosign.pub",
            "--bundle",
            "d-legacy.bundle",
            "blob.txt",
          ]),
          "cosign verify-blob of a legacy bundle",
        );
        for (
          const [bundle, args] of [["d-key.bundle", ["--key", "cosign.pub"]], [
            "d-kl.bundle",
            byIdentity,
          ]] as const
        ) {
          refused(
            await cosign([
              "verify-blob",
              "--new-bundle-format",
              ...trustedRoot,
              ...args,
              "--bundle",
              bundle,
              "other.txt",
            ]),
            "cosign verify-blob of another blob",
          );
        }
      },
    );
  });
}
