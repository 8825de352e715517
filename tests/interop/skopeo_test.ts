/**
 * Real skopeo 1.18 (containers/image 5.34, Debian 13) against dcosign, both directions, on the
 * embedded registry and on Debian's docker-registry:
 *
 * - skopeo signs with a dcosign-generated key while copying (`--sign-by-sigstore-private-key`,
 *   the encrypted cosign key format, its password from `--sign-passphrase-file`), and dcosign
 *   verifies the `.sig` layer it wrote;
 * - dcosign signs (legacy `.sig`: containers/image reads no bundle referrers), with a key and
 *   keyless, and a `sigstoreSigned` policy accepts the image on copy: `keyPath`, or `fulcio`
 *   (`caPath`, `oidcIssuer`, `subjectEmail`) with `rekorPublicKeyPath`, identity
 *   `matchRepository` (cosign's payload names the repository without its tag);
 * - the policy refuses another identity, and a tampered payload is refused by both.
 *
 * skopeo finds signatures only where `use-sigstore-attachments` is on, so each run gets its own
 * `--registries.d` and `--policy`; the registries are plain HTTP (`--*-tls-verify=false`).
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { executable, peerTool, requireComponents } from "../_support.ts";
import {
  IDENTITY,
  openPeerEnv,
  type PeerEnv,
  type PeerImage,
  type RegistryKind,
  tamperLegacySignature,
} from "./_peers.ts";

const SKOPEO = peerTool("SKOPEO_NEW");

type Result = { code: number; stdout: string; stderr: string };

function ok(result: Result, what: string): void {
  assert.equal(result.code, 0, `${what} failed:\n${result.stdout}\n${result.stderr}`);
}

/** A `sigstoreSigned` requirement for `image`'s repository, everything else rejected. */
function policy(image: PeerImage, requirement: Record<string, unknown>): string {
  return JSON.stringify({
    default: [{ type: "reject" }],
    transports: {
      docker: {
        [image.repository]: [{
          type: "sigstoreSigned",
          ...requirement,
          signedIdentity: { type: "matchRepository" },
        }],
      },
    },
  });
}

async function setup(env: PeerEnv) {
  const registriesD = join(env.dir, "registries.d");
  await Deno.mkdir(registriesD);
  await Deno.writeTextFile(
    join(registriesD, "default.yaml"),
    "default-docker:\n  use-sigstore-attachments: true\n",
  );
  await Deno.writeTextFile(join(env.dir, "password.txt"), "pw");
  ok(await env.dcosign(["generate-key-pair"]), "dcosign generate-key-pair");
  let policies = 0;
  const skopeo = (args: string[]) =>
    env.run(SKOPEO.path()!, ["--registries.d", registriesD, ...args]);
  /** `skopeo copy` of `image` out of the registry under `requirement`: the policy decides. */
  const pull = async (image: PeerImage, requirement: Record<string, unknown>) => {
    const file = join(env.dir, `policy-${policies}.json`);
    await Deno.writeTextFile(file, policy(image, requirement));
    return await skopeo([
      "--policy",
      file,
      "copy",
      "--remove-signatures",
      "--src-tls-verify=false",
      `docker://${image.reference}`,
      `oci:${join(env.dir, `pulled-${policies++}`)}:v1`,
    ]);
  };
  const keyPolicy = { keyPath: join(env.dir, "cosign.pub") };
  const keylessPolicy = (subjectEmail: string) => ({
    fulcio: { caPath: env.trust.fulcioChain, oidcIssuer: env.url, subjectEmail },
    rekorPublicKeyPath: env.trust.rekorKey,
  });
  return { skopeo, pull, keyPolicy, keylessPolicy };
}

if (requireComponents("skopeo 1.18 interop", SKOPEO, executable("docker-registry"))) {
  for (const kind of ["embedded", "docker-registry"] as RegistryKind[]) {
    Deno.test(`[${kind}] real skopeo 1.18 signs with a dcosign key, and its sigstoreSigned policy accepts dcosign's signatures`, async (t) => {
      await using env = await openPeerEnv(kind);
      const { skopeo, pull, keyPolicy, keylessPolicy } = await setup(env);
      const trustedRoot = ["--trusted-root", env.trust.trustedRoot];

      await t.step(
        "skopeo copy --sign-by-sigstore-private-key (a dcosign key) -> dcosign verify --key",
        async () => {
          const source = await env.push("skopeo/source");
          const target = `${env.registry}/skopeo/signed:v1`;
          ok(
            await skopeo([
              "--insecure-policy",
              "copy",
              "--src-tls-verify=false",
              "--dest-tls-verify=false",
              "--sign-by-sigstore-private-key",
              "cosign.key",
              "--sign-passphrase-file",
              "password.txt",
              `docker://${source.reference}`,
              `docker://${target}`,
            ]),
            "skopeo copy --sign-by-sigstore-private-key",
          );
          const verified = await env.dcosign([
            "verify",
            "--key",
            "cosign.pub",
            "--insecure-ignore-tlog",
            target,
          ]);
          ok(verified, "dcosign verify");
          const [payload] = JSON.parse(verified.stdout);
          assert.equal(payload.critical.image["docker-manifest-digest"], source.digest);
          assert.match(payload.optional.creator, /^containers\/image/);
          // skopeo's signatures go through the same checks: another key is refused.
          ok(await env.dcosign(["generate-key-pair", "--output-key-prefix", "other"]), "keygen");
          assert.equal(
            (await env.dcosign(["verify", "--key", "other.pub", "--insecure-ignore-tlog", target]))
              .code,
            12,
          );
        },
      );

      await t.step(
        "dcosign sign --key (legacy, logged) -> skopeo sigstoreSigned keyPath + rekorPublicKeyPath accepts",
        async () => {
          const image = await env.push("dcosign/key");
          // Unsigned: refused by the policy (so the acceptance below is the signature's).
          assert.notEqual((await pull(image, keyPolicy)).code, 0);
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
          ok(await pull(image, keyPolicy), "skopeo copy under keyPath");
          ok(
            await pull(image, { ...keyPolicy, rekorPublicKeyPath: env.trust.rekorKey }),
            "skopeo copy under keyPath + rekorPublicKeyPath (the SET)",
          );
        },
      );

      await t.step(
        "dcosign sign keyless (legacy) -> skopeo sigstoreSigned fulcio policy accepts; another identity is refused",
        async () => {
          const image = await env.push("dcosign/keyless");
          ok(
            await env.dcosign([
              "sign",
              "--signing-config",
              env.trust.signingConfig,
              ...trustedRoot,
              "--identity-token",
              await env.token(),
              "--yes",
              "--new-bundle-format=false",
              image.reference,
            ]),
            "dcosign sign keyless",
          );
          ok(await pull(image, keylessPolicy(IDENTITY)), "skopeo copy under a fulcio policy");
          const other = await pull(image, keylessPolicy("someone@else.test"));
          assert.notEqual(other.code, 0, "another subjectEmail must be refused");
          assert.match(other.stderr, /rejected|not match|someone@else/i);
        },
      );

      await t.step("a tampered payload is refused by skopeo's policy and by dcosign", async () => {
        const image = await env.push("tamper/app");
        ok(
          await env.dcosign([
            "sign",
            "--key",
            "cosign.key",
            "--tlog-upload=false",
            "--new-bundle-format=false",
            image.reference,
          ]),
          "dcosign sign",
        );
        ok(await pull(image, keyPolicy), "skopeo copy before tampering");
        await tamperLegacySignature(env, image);
        const pulled = await pull(image, keyPolicy);
        assert.notEqual(pulled.code, 0, `skopeo accepted a tampered payload:\n${pulled.stderr}`);
        const verified = await env.dcosign([
          "verify",
          "--key",
          "cosign.pub",
          "--insecure-ignore-tlog",
          image.reference,
        ]);
        assert.equal(verified.code, 12, verified.stderr);
      });
    });
  }
}
