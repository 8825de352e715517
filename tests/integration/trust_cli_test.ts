/**
 * The trust commands and trust sources through the CLI on the embedded stack:
 * `trusted-root create` and `signing-config create` build, from the stack's own PEM keys and
 * chains and service specs, trust material that signs and verifies exactly as the stack's
 * files do; malformed specs fail in one line; cosign's `SIGSTORE_*` overrides and
 * `--trusted-root` mean TUF is never asked; `env` lists what dcosign reads; the `DCOSIGN_NOW`
 * test hook warns and refuses what is not a time.
 */

import assert from "node:assert/strict";
import { encodePem } from "../../lib/util/pem.ts";
import { parseBundle } from "../../lib/bundle/model.ts";
import { parseSigningConfig } from "../../lib/trust/signing_config.ts";
import { parseTrustedRoot } from "../../lib/trust/trusted_root.ts";
import { dcosign } from "../_cli.ts";
import { type ImageEnv, openImageEnv, TEST_IDENTITIES } from "./_image_env.ts";

/** Run the CLI like `env.run`, recording every request that is not for the stack. */
function guarded(env: ImageEnv) {
  const foreign: string[] = [];
  const fetch: typeof globalThis.fetch = (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    if (!url.startsWith(env.url)) {
      foreign.push(url);
      return Promise.reject(new TypeError(`unexpected request to ${url}`));
    }
    return env.fetch(input, init);
  };
  const run = (argv: string[], extra: Record<string, string> = {}) =>
    dcosign(argv, { cwd: env.dir, fetch, env: { COSIGN_PASSWORD: "pw", ...extra } });
  return { run, foreign };
}

/** The stack's keys and chains as the PEM files an operator would hold. */
async function writeStackParts(env: ImageEnv) {
  const { ca, log, tsa } = env.services;
  const write = (name: string, text: string) => Deno.writeTextFile(`${env.dir}/${name}`, text);
  await write(
    "fulcio.pem",
    encodePem("CERTIFICATE", ca.intermediate.raw) + encodePem("CERTIFICATE", ca.root.raw),
  );
  await write("rekor.pub", log.publicKeyPem());
  await write("ctfe.pub", ca.ctLogKey.toPem());
  await write("tsa.pem", tsa.certificateChainPem());
  const logStart = env.trust.trustedRoot.tlogs[0]!.validFor.start.toISOString();
  return {
    fulcio: `url=${env.url},certificate-chain=fulcio.pem`,
    rekor: `url=${env.url},public-key=rekor.pub,start-time=${logStart}`,
    ctfe: `url=${env.url},public-key=ctfe.pub,start-time=${ca.ctLogStart.toISOString()}`,
    tsa: `url=${env.url}/api/v1/timestamp,certificate-chain=tsa.pem`,
  };
}

Deno.test("trusted-root create from the stack's PEM parts names the same keys and verifies its keyless signatures with TSA timestamps", async () => {
  await using env = await openImageEnv("in-process");
  const specs = await writeStackParts(env);
  const { run, foreign } = guarded(env);
  const created = await run([
    "trusted-root",
    "create",
    "--fulcio",
    specs.fulcio,
    "--rekor",
    specs.rekor,
    "--ctfe",
    specs.ctfe,
    "--tsa",
    specs.tsa,
    "--out",
    "created_root.json",
  ]);
  assert.equal(created.code, 0, created.stderr);
  assert.equal((await Deno.stat(`${env.dir}/created_root.json`)).mode! & 0o777, 0o600);
  const root = parseTrustedRoot(await Deno.readFile(`${env.dir}/created_root.json`));
  const expected = env.trust.trustedRoot;
  // The --rekor spec names the stack's Rekor v1 (its v2 log has a path prefix of its own).
  const rekorV1 = expected.tlogs.filter((l) => l.baseUrl === env.url);
  assert.equal(rekorV1.length, 1);
  assert.deepEqual(root.tlogs.map((l) => l.logId), rekorV1.map((l) => l.logId));
  assert.deepEqual(root.ctlogs.map((l) => l.logId), expected.ctlogs.map((l) => l.logId));
  assert.deepEqual(
    root.certificateAuthorities.map((a) => a.certificates),
    expected.certificateAuthorities.map((a) => a.certificates),
  );
  assert.deepEqual(
    root.timestampAuthorities.map((a) => a.certificates),
    expected.timestampAuthorities.map((a) => a.certificates),
  );
  // The root's window starts at the root certificate, the TSA's at its leaf (cosign's defaults).
  assert.deepEqual(root.certificateAuthorities[0]!.validFor.start, env.services.ca.root.notBefore);
  assert.deepEqual(
    root.timestampAuthorities[0]!.validFor.start,
    env.services.tsa.chain[0]!.notBefore,
  );

  await Deno.writeTextFile(`${env.dir}/app.txt`, "private deployment\n");
  const signed = await run([
    "sign-blob",
    "--yes",
    "--identity-token",
    await env.idToken(),
    "--signing-config",
    env.signingConfig,
    "--trusted-root",
    "created_root.json",
    "--bundle",
    "app.json",
    "app.txt",
  ]);
  assert.equal(signed.code, 0, signed.stderr);
  const verified = await run([
    "verify-blob",
    "--bundle",
    "app.json",
    "--certificate-identity",
    TEST_IDENTITIES[0],
    "--certificate-oidc-issuer",
    env.url,
    "--use-signed-timestamps",
    "--trusted-root",
    "created_root.json",
    "app.txt",
  ]);
  assert.equal(verified.code, 0, verified.stderr);
  assert.match(verified.stderr, /Verified OK/);
  assert.deepEqual(
    foreign,
    [],
    "no TUF or other request: --trusted-root means TUF is not consulted",
  );

  // Without the TSA the same timestamped verification has nothing to trust the token with.
  const noTsa = await run([
    "trusted-root",
    "create",
    "--fulcio",
    specs.fulcio,
    "--rekor",
    specs.rekor,
    "--ctfe",
    specs.ctfe,
  ]);
  assert.equal(noTsa.code, 0, noTsa.stderr);
  await Deno.writeTextFile(`${env.dir}/no_tsa.json`, noTsa.stdout);
  const refused = await run([
    "verify-blob",
    "--bundle",
    "app.json",
    "--certificate-identity",
    TEST_IDENTITIES[0],
    "--certificate-oidc-issuer",
    env.url,
    "--use-signed-timestamps",
    "--trusted-root",
    "no_tsa.json",
    "app.txt",
  ]);
  assert.equal(refused.code, 1);
  assert.match(
    refused.stderr,
    /Timestamp is not verified by a trusted timestamp authority: the trusted root lists none/,
  );
});

Deno.test("trusted-root create --rekor with origin= names a Rekor v2 log by its checkpoint key ID", async () => {
  await using env = await openImageEnv("in-process");
  const specs = await writeStackParts(env);
  const result = await guarded(env).run([
    "trusted-root",
    "create",
    "--rekor",
    `${specs.rekor},origin=log.example.test`,
  ]);
  assert.equal(result.code, 0, result.stderr);
  const json = JSON.parse(result.stdout);
  const log = parseTrustedRoot(json).tlogs[0]!;
  // ECDSA: the C2SP key ID is SHA-256 of the SPKI, so log ID and checkpoint key ID agree.
  assert.deepEqual(log.checkpointKeyId, log.key.fingerprint());
  assert.equal(json.tlogs[0].checkpointKeyId.keyId, json.tlogs[0].logId.keyId);
});

Deno.test("trusted-root create refuses malformed specs in one line", async () => {
  await using env = await openImageEnv("in-process");
  const specs = await writeStackParts(env);
  const cases: [string[], RegExp][] = [
    [["--rekor", `url=${env.url},public-key=rekor.pub`], /lacks the required key "start-time"/],
    [
      ["--rekor", "url=x,public-key=rekor.pub,start-time=yesterday"],
      /Invalid --rekor start-time "yesterday"/,
    ],
    [["--fulcio", "url=x"], /--fulcio spec lacks the required key "certificate-chain"/],
    [["--fulcio", "certificate-chain=fulcio.pem,url"], /"url" is not key=value/],
    [["--tsa", `url=x,certificate-chain=fulcio.pem`], /must start with the timestamping leaf/],
    [
      ["--ctfe", "url=x,public-key=fulcio.pem,start-time=2024-01-01T00:00:00Z"],
      /Invalid --ctfe public key/,
    ],
    [
      ["--ctfe", "url=x,public-key=missing.pub,start-time=2024-01-01T00:00:00Z"],
      /Cannot read --ctfe public key "missing\.pub"/,
    ],
    [
      ["--ctfe", `${specs.ctfe},end-time=2000-01-01T00:00:00Z`],
      /ends \("2000-01-01T00:00:00Z"\) before it starts/,
    ],
  ];
  for (const [flags, reason] of cases) {
    const result = await guarded(env).run(["trusted-root", "create", ...flags]);
    assert.equal(result.code === 0, false, flags.join(" "));
    assert.match(result.stderr, reason, flags.join(" "));
    assert.equal(result.stderr.trim().split("\n").length, 1, result.stderr);
    assert.equal(result.stdout, "");
  }
});

Deno.test("signing-config create writes cosign's v0.2 config from specs and selectors; keyless signing follows it", async () => {
  await using env = await openImageEnv("in-process");
  const { run, foreign } = guarded(env);
  const spec = (url: string) =>
    `url=${url},api-version=1,start-time=2024-01-01T00:00:00Z,operator=stack`;
  const created = await run([
    "signing-config",
    "create",
    "--fulcio",
    spec(env.url),
    "--rekor",
    spec(env.url),
    "--rekor-config",
    "ANY",
    "--oidc-provider",
    spec(env.url),
    "--tsa",
    spec(`${env.url}/api/v1/timestamp`),
    "--tsa-config",
    "EXACT:1",
    "--out",
    "config.json",
  ]);
  assert.equal(created.code, 0, created.stderr);
  const config = parseSigningConfig(await Deno.readFile(`${env.dir}/config.json`));
  assert.deepEqual(config.tsaConfig, { selector: "EXACT", count: 1 });
  assert.equal(config.rekorTlogUrls[0]!.operator, "stack");

  await Deno.writeTextFile(`${env.dir}/app.txt`, "configured\n");
  const signed = await run([
    "sign-blob",
    "--yes",
    "--identity-token",
    await env.idToken(),
    "--signing-config",
    "config.json",
    "--trusted-root",
    env.trustedRoot,
    "--bundle",
    "app.json",
    "app.txt",
  ]);
  assert.equal(signed.code, 0, signed.stderr);
  const bundle = parseBundle(await Deno.readFile(`${env.dir}/app.json`));
  assert.equal(bundle.verificationMaterial.tlogEntries.length, 1);
  assert.equal(bundle.verificationMaterial.rfc3161Timestamps.length, 1, "the TSA of the config");
  assert.deepEqual(foreign, []);

  // --base-config: a kind given by specs replaces the base's services of that kind.
  const replaced = await run([
    "signing-config",
    "create",
    "--base-config",
    "config.json",
    "--no-default-tsa",
    "--rekor",
    spec("https://rekor.other"),
    "--rekor-config",
    "ALL",
  ]);
  assert.equal(replaced.code, 0, replaced.stderr);
  const derived = parseSigningConfig(replaced.stdout);
  assert.deepEqual(derived.rekorTlogUrls.map((s) => s.url), ["https://rekor.other"]);
  assert.deepEqual(derived.rekorTlogConfig, { selector: "ALL" });
  assert.deepEqual(derived.caUrls.map((s) => s.url), [env.url]);
  assert.deepEqual(derived.tsaUrls, []);

  for (
    const [flags, reason] of [
      [["--rekor", spec("https://r")], /--rekor-config must be given with --rekor/],
      [["--tsa", spec("https://t"), "--tsa-config", "EXACT:0"], /EXACT needs a positive count/],
      [["--tsa", spec("https://t"), "--tsa-config", "SOME"], /expected ANY, ALL or EXACT:<count>/],
      [
        ["--fulcio", "url=https://f,api-version=one,start-time=2024-01-01T00:00:00Z,operator=x"],
        /api-version "one"/,
      ],
      [
        ["--fulcio", "url=https://f,api-version=1,start-time=2024-01-01T00:00:00Z"],
        /lacks the required key "operator"/,
      ],
      [["--base-config", "config.json", "--with-default-services"], /exclude each other/],
    ] as [string[], RegExp][]
  ) {
    const result = await run(["signing-config", "create", ...flags]);
    assert.notEqual(result.code, 0, flags.join(" "));
    assert.match(result.stderr, reason);
    assert.equal(result.stderr.trim().split("\n").length, 1, result.stderr);
  }
});

Deno.test("cosign's SIGSTORE_* overrides build the trusted root and TUF is never asked; a part they lack fails naming it", async () => {
  await using env = await openImageEnv("in-process");
  await writeStackParts(env);
  const { run, foreign } = guarded(env);
  await Deno.writeTextFile(`${env.dir}/app.txt`, "overridden\n");
  const token = await env.idToken();
  const overrides = {
    SIGSTORE_ROOT_FILE: "fulcio.pem",
    SIGSTORE_REKOR_PUBLIC_KEY: "rekor.pub",
    SIGSTORE_CT_LOG_PUBLIC_KEY_FILE: "ctfe.pub",
    SIGSTORE_TSA_CERTIFICATE_FILE: "tsa.pem",
  };
  const signed = await run([
    "sign-blob",
    "--yes",
    "--identity-token",
    token,
    "--signing-config",
    env.signingConfig,
    "--bundle",
    "app.json",
    "app.txt",
  ], overrides);
  assert.equal(signed.code, 0, signed.stderr);
  const verify = [
    "verify-blob",
    "--bundle",
    "app.json",
    "--certificate-identity",
    TEST_IDENTITIES[0],
    "--certificate-oidc-issuer",
    env.url,
    "--use-signed-timestamps",
    "app.txt",
  ];
  const verified = await run(verify, overrides);
  assert.equal(verified.code, 0, verified.stderr);
  assert.deepEqual(foreign, [], "no request for TUF: the overrides stand for the trusted root");

  // Only the Rekor key: the Fulcio chain has no authority to verify against, and TUF is not
  // asked for one.
  const partial = await run(verify, { SIGSTORE_REKOR_PUBLIC_KEY: "rekor.pub" });
  assert.equal(partial.code, 1);
  assert.match(partial.stderr, /the trusted root lists none/);
  assert.deepEqual(foreign, []);
  const unreadable = await run(verify, { SIGSTORE_ROOT_FILE: "missing.pem" });
  assert.match(
    unreadable.stderr,
    /Cannot read SIGSTORE_ROOT_FILE file "missing\.pem".*\[TRUST_MISSING\]/,
  );
});

Deno.test("env lists the trust variables dcosign reads and none it ignores", async () => {
  const result = await dcosign(["env", "-o", "json"], { env: { TUF_ROOT: "/tmp/tuf" } });
  assert.equal(result.code, 0, result.stderr);
  const names = new Set(JSON.parse(result.stdout).map((r: { name: string }) => r.name));
  for (
    const name of [
      "TUF_ROOT",
      "TUF_MIRROR",
      "TUF_ROOT_JSON",
      "SIGSTORE_ROOT_FILE",
      "SIGSTORE_REKOR_PUBLIC_KEY",
      "SIGSTORE_CT_LOG_PUBLIC_KEY_FILE",
      "SIGSTORE_TSA_CERTIFICATE_FILE",
      "DCOSIGN_NOW",
    ]
  ) assert.ok(names.has(name), name);
  for (
    const name of ["COSIGN_PKCS11_PIN", "COSIGN_EXPERIMENTAL", "GITLAB_TOKEN", "SOURCE_DATE_EPOCH"]
  ) {
    assert.ok(!names.has(name), name);
  }
});

Deno.test("DCOSIGN_NOW sets the clock of a run with one warning and refuses what is not a time", async () => {
  const shown = await dcosign(["version"], { env: { DCOSIGN_NOW: "2026-08-25T00:00:00Z" } });
  assert.equal(shown.code, 0);
  assert.match(
    shown.stderr,
    /^WARNING: DCOSIGN_NOW is set: the clock reads "2026-08-25T00:00:00\.000Z" for this run/,
  );
  const bad = await dcosign(["version"], { env: { DCOSIGN_NOW: "tomorrow" } });
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /\[CLI_USAGE\]/);
  assert.match(bad.stderr, /Invalid DCOSIGN_NOW "tomorrow": expected an RFC 3339 time/);
});

Deno.test("initialize refuses --root-checksum without --root, or one that is not a SHA-256, before touching anything", async () => {
  for (
    const [argv, reason] of [
      [
        ["initialize", "--root-checksum", "ab".repeat(32)],
        /--root-checksum is the checksum of --root/,
      ],
      [["initialize", "--root", "r.json", "--root-checksum", "xyz"], /is not a hex SHA-256/],
    ] as [string[], RegExp][]
  ) {
    const result = await dcosign(argv, {
      fetch: () => Promise.reject(new Error("no request expected")),
    });
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /\[CLI_USAGE\]/);
    assert.match(result.stderr, reason);
  }
});
