/**
 * Keyless signing end to end through the CLI on the embedded stack: the issuer's token ->
 * Fulcio certificate -> Rekor entry -> verify by identity and issuer; and every way a keyless
 * signature must fail, each with a message naming the reason.
 */

import assert from "node:assert/strict";
import { tempDir } from "../_support.ts";
import { fromBase64 } from "../../lib/util/bytes.ts";
import { createLeafCertificate, fulcioExtension } from "../../server/fulcio/certificate_builder.ts";
import { generateKeyPair, PrivateKey } from "../../lib/keys/private_key.ts";
import { RegistryClient } from "../../lib/oci/client.ts";
import { parseImageReference } from "../../lib/oci/reference.ts";
import { logEntryToTlogEntry, RekorClient } from "../../lib/tlog/rekor/client.ts";
import { signImage } from "../../lib/sign/image.ts";
import { encodeTrustedRoot } from "../../lib/trust/trusted_root.ts";
import { parseCertificate } from "../../lib/x509/certificate.ts";
import { CertificateAuthority } from "../../server/mod.ts";
import { dcosign } from "../_cli.ts";
import { type ImageEnv, openImageEnv, TEST_IDENTITIES } from "./_image_env.ts";

const EMAIL = TEST_IDENTITIES[0];
const WORKFLOW = TEST_IDENTITIES[1];

async function signKeyless(env: ImageEnv, reference: string, options: {
  format?: "legacy" | "bundle";
  identity?: string;
  token?: string;
  extra?: string[];
} = {}) {
  return await env.run([
    "sign",
    "--signing-config",
    env.signingConfig,
    "--trusted-root",
    env.trustedRoot,
    "--identity-token",
    options.token ?? await env.idToken(options.identity),
    "--yes",
    `--new-bundle-format=${(options.format ?? "bundle") === "bundle"}`,
    ...(options.extra ?? []),
    reference,
  ]);
}

function verifyArgs(env: ImageEnv, identity: string[], extra: string[] = []): string[] {
  return ["verify", ...identity, "--trusted-root", env.trustedRoot, ...extra];
}

const right = (env: ImageEnv) => [
  "--certificate-identity",
  EMAIL,
  "--certificate-oidc-issuer",
  env.url,
];

for (const mode of ["in-process", "socket"] as const) {
  for (const format of ["legacy", "bundle"] as const) {
    Deno.test(`[${mode}, ${format}] keyless sign, then verify with the identity and issuer`, async () => {
      await using env = await openImageEnv(mode);
      const image = await env.push("keyless/app");
      const signed = await signKeyless(env, image.reference, { format });
      assert.equal(signed.code, 0, signed.stderr);
      assert.match(
        signed.stderr,
        /Successfully verified the certificate for "signer@dcosign.test"/,
      );
      assert.match(signed.stderr, /tlog entry created/);
      const verified = await env.run([...verifyArgs(env, right(env)), image.reference]);
      assert.equal(verified.code, 0, verified.stderr);
      assert.match(verified.stderr, /code-signing certificate was verified/);
      assert.match(verified.stderr, /SCT was verified/);
      assert.match(verified.stderr, /identity and OIDC issuer matched/);
      if (format === "legacy") {
        const [output] = JSON.parse(verified.stdout);
        assert.equal(output.optional.Subject, EMAIL);
        assert.equal(output.optional.Issuer, env.url);
      }
    });
  }
}

Deno.test("keyless verify fails for a wrong identity, a wrong issuer, and a substring-only regexp", async () => {
  await using env = await openImageEnv("in-process");
  const image = await env.push("keyless/policy");
  assert.equal((await signKeyless(env, image.reference)).code, 0);
  const cases: [string[], RegExp][] = [
    [
      ["--certificate-identity", "other@dcosign.test", "--certificate-oidc-issuer", env.url],
      /identity/,
    ],
    [
      ["--certificate-identity", EMAIL, "--certificate-oidc-issuer", "https://accounts.google.com"],
      /issuer/,
    ],
    [
      ["--certificate-identity-regexp", "dcosign\\.test", "--certificate-oidc-issuer", env.url],
      /identity/,
    ],
    [["--certificate-identity", EMAIL, "--certificate-oidc-issuer-regexp", "localhost"], /issuer/],
  ];
  for (const [flags, reason] of cases) {
    const result = await env.run([...verifyArgs(env, flags), image.reference]);
    assert.equal(result.code, 12, flags.join(" "));
    assert.match(result.stderr, /VERIFY_IDENTITY_MISMATCH|does not match the expected/);
    assert.match(result.stderr, reason);
  }
  for (
    const flags of [
      [
        "--certificate-identity-regexp",
        "signer@dcosign\\.test",
        "--certificate-oidc-issuer",
        env.url,
      ],
      [
        "--certificate-identity-regexp",
        ".*@dcosign\\.test",
        "--certificate-oidc-issuer-regexp",
        "http://.*",
      ],
    ]
  ) {
    const result = await env.run([...verifyArgs(env, flags), image.reference]);
    assert.equal(result.code, 0, result.stderr);
  }
});

Deno.test("a GitHub workflow identity verifies by URI and the workflow flags", async () => {
  await using env = await openImageEnv("in-process");
  const image = await env.push("keyless/workflow");
  assert.equal(
    (await signKeyless(env, image.reference, { identity: WORKFLOW, format: "legacy" })).code,
    0,
  );
  const ok = await env.run([
    ...verifyArgs(env, ["--certificate-identity", WORKFLOW, "--certificate-oidc-issuer", env.url]),
    "--certificate-github-workflow-repository",
    "octo/app",
    "--certificate-github-workflow-ref",
    "refs/heads/main",
    image.reference,
  ]);
  assert.equal(ok.code, 0, ok.stderr);
  const wrongRepo = await env.run([
    ...verifyArgs(env, ["--certificate-identity", WORKFLOW, "--certificate-oidc-issuer", env.url]),
    "--certificate-github-workflow-repository",
    "octo/other",
    image.reference,
  ]);
  assert.equal(wrongRepo.code, 12);
  assert.match(wrongRepo.stderr, /GitHub workflow repository "octo\/app" is not "octo\/other"/);
});

Deno.test("an expired identity token is refused by Fulcio, naming the expiry", async () => {
  await using env = await openImageEnv("in-process");
  const image = await env.push("keyless/expired");
  const token = await env.services.oidc.mintToken(undefined, {
    now: new Date(Date.now() - 2 * 3600_000),
    ttlSeconds: 600,
  });
  const result = await signKeyless(env, image.reference, { token });
  assert.equal(result.code, 1);
  assert.match(result.stderr, /expired/i);
  assert.equal(result.stderr.split("\n").filter((l) => l.startsWith("Error:")).length, 1);
});

Deno.test("a certificate checked outside its validity fails (no log time: checked at now)", async () => {
  await using env = await openImageEnv("in-process");
  const image = await env.push("keyless/later");
  // No log and no timestamp authority: nothing vouches for the signing time.
  const signed = await env.run([
    "sign",
    "--fulcio-url",
    env.url,
    "--trusted-root",
    env.trustedRoot,
    "--identity-token",
    await env.idToken(),
    "--yes",
    "--tlog-upload=false",
    image.reference,
  ]);
  assert.equal(signed.code, 0, signed.stderr);
  const later = await dcosign([
    ...verifyArgs(env, right(env), ["--insecure-ignore-tlog"]),
    image.reference,
  ], { cwd: env.dir, fetch: env.fetch, now: () => new Date(Date.now() + 3600_000) });
  assert.equal(later.code, 12);
  assert.match(later.stderr, /valid|validity|expired/i);
  const now = await env.run([
    ...verifyArgs(env, right(env), ["--insecure-ignore-tlog"]),
    image.reference,
  ]);
  assert.equal(now.code, 0, now.stderr);
});

Deno.test("an SCT from an unknown CT log, and a chain to an unknown root, are refused", async () => {
  await using env = await openImageEnv("in-process");
  const image = await env.push("keyless/trust");
  assert.equal((await signKeyless(env, image.reference)).code, 0);
  const other = await CertificateAuthority.create();
  const write = async (name: string, root: object) => {
    await Deno.writeTextFile(`${env.dir}/${name}`, JSON.stringify(root));
    return `${env.dir}/${name}`;
  };
  const foreignCt = await write(
    "foreign_ct.json",
    encodeTrustedRoot({
      ...env.trust.trustedRoot,
      ctlogs: [other.ctLog("https://ct.example")],
    }),
  );
  const ct = await env.run(["verify", ...right(env), "--trusted-root", foreignCt, image.reference]);
  assert.equal(ct.code, 12);
  assert.match(ct.stderr, /SCT/);
  const foreignCa = await write(
    "foreign_ca.json",
    encodeTrustedRoot({
      ...env.trust.trustedRoot,
      certificateAuthorities: [other.trustedAuthority("https://fulcio.example")],
    }),
  );
  const ca = await env.run(["verify", ...right(env), "--trusted-root", foreignCa, image.reference]);
  assert.equal(ca.code, 12);
  assert.match(ca.stderr, /X509_NO_TRUSTED_CA|trusted authority/);
});

Deno.test("a certificate without an SCT is refused unless --insecure-ignore-sct", async () => {
  await using env = await openImageEnv("in-process");
  const image = await env.push("keyless/nosct");
  // A leaf from the stack's own intermediate, but never shown to a CT log.
  const state = env.services.ca.toJSON();
  const intermediateKey = await PrivateKey.fromDer(fromBase64(state.intermediateKey), "pkcs8");
  const intermediate = parseCertificate(fromBase64(state.certificates[0]!));
  const key = await generateKeyPair();
  const now = new Date();
  const leaf = await createLeafCertificate(intermediateKey, intermediate, {
    publicKey: key.publicKey,
    sans: [{ type: "email", value: EMAIL }],
    extensions: [fulcioExtension("1.3.6.1.4.1.57264.1.8", env.url)],
    notBefore: new Date(now.getTime() - 1000),
    notAfter: new Date(now.getTime() + 600_000),
  });
  const rekor = new RekorClient({ baseUrl: env.url, fetch: env.fetch });
  await signImage(parseImageReference(image.reference), {
    client: new RegistryClient({ fetch: env.fetch }),
    identity: { signer: key, certificate: leaf.raw },
    services: { log: async (entry) => logEntryToTlogEntry(await rekor.createEntry(entry)) },
    format: "legacy",
  });
  const refused = await env.run([...verifyArgs(env, right(env)), image.reference]);
  assert.equal(refused.code, 12);
  assert.match(refused.stderr, /no embedded SCT/);
  const allowed = await env.run([
    ...verifyArgs(env, right(env), ["--insecure-ignore-sct"]),
    image.reference,
  ]);
  assert.equal(allowed.code, 0, allowed.stderr);
});

Deno.test("a leaf whose key is not the signing key is refused", async () => {
  await using env = await openImageEnv("in-process");
  const a = await env.push("keyless/swap", { tag: "a" });
  const b = await env.push("keyless/swap", { tag: "b" });
  for (const image of [a, b]) {
    const signed = await signKeyless(env, image.reference, {
      format: "legacy",
      extra: ["--tlog-upload=false"],
    });
    assert.equal(signed.code, 0, signed.stderr);
  }
  // Put a's (valid, same-identity) certificate on b's signature layer.
  const url = (digest: string) =>
    `http://${env.registry}/v2/keyless/swap/manifests/sha256-${digest.slice(7)}.sig`;
  const accept = { accept: "application/vnd.oci.image.manifest.v1+json" };
  const ma = await (await env.fetch(url(a.digest), { headers: accept })).json();
  const mb = await (await env.fetch(url(b.digest), { headers: accept })).json();
  const cert = "dev.sigstore.cosign/certificate";
  mb.layers[0].annotations[cert] = ma.layers[0].annotations[cert];
  await (await env.fetch(url(b.digest), {
    method: "PUT",
    headers: { "content-type": "application/vnd.oci.image.manifest.v1+json" },
    body: JSON.stringify(mb),
  })).body?.cancel();
  const result = await env.run([
    ...verifyArgs(env, right(env), ["--insecure-ignore-tlog"]),
    b.reference,
  ]);
  assert.equal(result.code, 12);
  assert.match(result.stderr, /does not verify with the signing certificate's key/);
});

Deno.test("keyless sign without services or a trusted root takes them from TUF, and says so in one line when it cannot", async () => {
  await using env = await openImageEnv("in-process");
  await using tufRoot = await tempDir("dcosign-tuf-empty-");
  const image = await env.push("keyless/missing");
  const tuf = { TUF_ROOT: tufRoot.path };
  // No --signing-config and no URL flag: the signing config comes from TUF (here unreachable:
  // the public-good mirror's paths are not served by the test's fetch).
  const noServices = await env.run(["sign", "--yes", image.reference], tuf);
  assert.equal(noServices.code, 1);
  assert.match(
    noServices.stderr,
    /^Error: Cannot fetch the TUF timestamp metadata "https:\/\/tuf-repo-cdn\.sigstore\.dev\/timestamp\.json".*\[TRUST_TUF_FETCH\]\n$/,
  );
  // --use-signing-config=false and no URL flag: nothing names a Fulcio.
  const noFulcio = await env.run(["sign", "--yes", "--use-signing-config=false", image.reference]);
  assert.equal(noFulcio.code, 1);
  assert.match(noFulcio.stderr, /Keyless signing needs a Fulcio, and no --fulcio-url is given/);
  // A signing config but no --trusted-root: the trusted root comes from TUF, unreachable too.
  const noRoot = await env.run([
    "sign",
    "--yes",
    "--signing-config",
    env.signingConfig,
    "--identity-token",
    await env.idToken(),
    image.reference,
  ], tuf);
  assert.equal(noRoot.code, 1);
  assert.match(
    noRoot.stderr,
    /^Error: Cannot fetch the TUF timestamp metadata .*\[TRUST_TUF_FETCH\]\n$/,
  );
});

Deno.test("a keyless verify of a key-only image exits 12 whether its signature is a bundle or a legacy .sig (cosign 2.5 exits 12)", async () => {
  await using env = await openImageEnv("in-process");
  const codes: Record<string, number> = {};
  for (const format of ["bundle", "legacy"] as const) {
    const image = await env.push(`keyonly/${format}`);
    const signed = await env.run([
      "sign",
      "--key",
      "cosign.key",
      "--tlog-upload=false",
      `--new-bundle-format=${format === "bundle"}`,
      image.reference,
    ]);
    assert.equal(signed.code, 0, signed.stderr);
    const verified = await env.run([
      ...verifyArgs(env, right(env), ["--insecure-ignore-tlog"]),
      image.reference,
    ]);
    codes[format] = verified.code;
    assert.match(verified.stderr, /carry no certificate \(verify with --key\)/, format);
  }
  assert.deepEqual(codes, { bundle: 12, legacy: 12 });
});

Deno.test("verify -o text prints cosign v3's line for a bundle, and the certificate lines (stderr) and payload for a legacy layer", async () => {
  await using env = await openImageEnv("in-process");
  for (const format of ["bundle", "legacy"] as const) {
    const image = await env.push(`text/${format}`);
    const signed = await signKeyless(env, image.reference, {
      format,
      extra: ["-a", "env=prod"],
    });
    assert.equal(signed.code, 0, signed.stderr);
    const text = await env.run([...verifyArgs(env, right(env), ["-o", "text"]), image.reference]);
    assert.equal(text.code, 0, text.stderr);
    if (format === "bundle") {
      // cosign v3 transformOutput: the statement recast, no certificate lines.
      assert.equal(
        text.stdout,
        `{"critical":{"identity":{"docker-reference":"${image.reference}"},"image":{"docker-manifest-digest":"${image.digest}"},"type":"https://sigstore.dev/cosign/sign/v1"},"optional":{"env":"prod"}}\n`,
      );
      assert.doesNotMatch(text.stderr, /Certificate subject/);
    } else {
      const [payload, ...rest] = text.stdout.trim().split("\n");
      assert.deepEqual(rest, []);
      assert.equal(JSON.parse(payload!).critical.image["docker-manifest-digest"], image.digest);
      assert.match(text.stderr, /^Certificate subject: signer@dcosign.test$/m);
      assert.match(text.stderr, new RegExp(`^Certificate issuer URL: ${env.url}$`, "m"));
    }
  }
});
