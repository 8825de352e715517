/**
 * Registries over TLS as users run them: Debian's docker-registry serving certificates made by
 * openssl in the test (`http.tls.certificate`/`key`, and `http.tls.clientcas` for mutual TLS),
 * signed and verified through the CLI with and without `--registry-cacert`, with
 * `--registry-client-cert`/`--registry-client-key`, `--registry-server-name`, and
 * `--allow-insecure-registry` (TLS without verification, or plain HTTP).
 */

import assert from "node:assert/strict";
import { dcosign } from "../_cli.ts";
import { executable, requireComponents, tempDir } from "../_support.ts";
import { createTestPki, type PkiFiles, type TestPki } from "../_openssl_pki.ts";
import { createTlsFetch } from "../../cli/options/registry_tls.ts";
import { type DockerRegistry, startDockerRegistry } from "./_docker_registry.ts";
import { writeOciLayout } from "./_oci_layout.ts";
import { RegistryClient } from "../../lib/oci/client.ts";

interface TlsEnv {
  readonly dir: string;
  readonly pki: TestPki;
  readonly run: (argv: string[]) => ReturnType<typeof dcosign>;
}

async function openTlsEnv(dir: string): Promise<TlsEnv> {
  await Deno.mkdir(`${dir}/pki`);
  const pki = await createTestPki(`${dir}/pki`, "Registry");
  const run = (argv: string[]) => dcosign(argv, { cwd: dir, env: { COSIGN_PASSWORD: "pw" } });
  assert.equal((await run(["generate-key-pair"])).code, 0);
  return { dir, pki, run };
}

/** Push a fresh image to `registry` through a fetch with these TLS settings; its reference. */
async function pushImage(
  env: TlsEnv,
  registry: DockerRegistry,
  repository: string,
  tls: Parameters<typeof createTlsFetch>[0],
): Promise<string> {
  const layout = await writeOciLayout(`${env.dir}/${repository.replaceAll("/", "-")}`);
  const made = createTlsFetch(tls, fetch);
  const repo = { registry: registry.host, repository };
  try {
    const client = new RegistryClient({ fetch: made.fetch, preferHttps: true });
    for (const blob of layout.blobs.values()) await client.uploadBlob(repo, blob.bytes);
    await client.putManifest({ ...repo, tag: layout.tag }, layout.top.bytes, layout.top.mediaType);
  } finally {
    made.close();
  }
  return `${registry.host}/${repository}:${layout.tag}`;
}

const SIGN = ["sign", "--key", "cosign.key", "--tlog-upload=false"];
const VERIFY = ["verify", "--key", "cosign.pub", "--insecure-ignore-tlog"];

if (
  requireComponents(
    "registries over TLS (Debian's docker-registry)",
    executable("docker-registry"),
    executable("openssl"),
  )
) {
  Deno.test("[docker-registry, TLS] --registry-cacert trusts the registry's CA; without it the certificate is refused", async () => {
    await using dir = await tempDir();
    const env = await openTlsEnv(dir.path);
    const server: PkiFiles = await env.pki.issue("server", {
      usage: "serverAuth",
      san: ["IP:127.0.0.1", "DNS:localhost"],
    });
    // The CA file holds the intermediate and the root: the server sends only its leaf.
    await using registry = await startDockerRegistry({
      tls: { certificate: server.cert, key: server.key },
    });
    const image = await pushImage(env, registry, "tls/app", {
      caCertificates: [await Deno.readTextFile(env.pki.chain)],
    });
    const ca = ["--registry-cacert", env.pki.chain];
    const signed = await env.run([...SIGN, ...ca, image]);
    assert.equal(signed.code, 0, signed.stderr);
    const verified = await env.run([...VERIFY, ...ca, image]);
    assert.equal(verified.code, 0, verified.stderr);
    assert.equal(JSON.parse(verified.stdout).length, 1);

    // The same CA given as the root alone does not reach the leaf: the intermediate is missing.
    const rootOnly = await env.run([...VERIFY, "--registry-cacert", env.pki.root.cert, image]);
    assert.equal(rootOnly.code, 1);
    assert.match(rootOnly.stderr, /Cannot reach "127\.0\.0\.1:\d+" over HTTPS: .*UnknownIssuer/);
    // No CA flag: a localhost registry is spoken to over plain HTTP, which a TLS server refuses.
    const plain = await env.run([...VERIFY, image]);
    assert.equal(plain.code, 1);
    assert.match(plain.stderr, /speaks TLS, not plain HTTP: pass --registry-cacert/);
    // A CA file without a certificate is a usage error, before any request.
    await Deno.writeTextFile(`${env.dir}/empty.pem`, "not a certificate\n");
    const empty = await env.run([...VERIFY, "--registry-cacert", "empty.pem", image]);
    assert.equal(empty.code, 1);
    assert.match(empty.stderr, /No valid PEM block in --registry-cacert "empty\.pem"/);
  });

  Deno.test("[docker-registry, mTLS] --registry-client-cert/--registry-client-key present the client certificate the registry requires", async () => {
    await using dir = await tempDir();
    const env = await openTlsEnv(dir.path);
    const server = await env.pki.issue("server", { usage: "serverAuth", san: ["IP:127.0.0.1"] });
    const client = await env.pki.issue("client", {
      usage: "clientAuth",
      san: ["email:ci@corp.test"],
    });
    const clientCa = `${env.dir}/client-ca.pem`;
    await Deno.writeTextFile(clientCa, await Deno.readTextFile(env.pki.chain));
    await using registry = await startDockerRegistry({
      tls: { certificate: server.cert, key: server.key, clientCas: [clientCa] },
    });
    const clientPem = {
      cert: await Deno.readTextFile(client.cert),
      key: await Deno.readTextFile(client.key),
    };
    const image = await pushImage(env, registry, "mtls/app", {
      caCertificates: [await Deno.readTextFile(env.pki.chain)],
      client: clientPem,
    });
    const tls = [
      "--registry-cacert",
      env.pki.chain,
      "--registry-client-cert",
      client.cert,
      "--registry-client-key",
      client.key,
    ];
    const signed = await env.run([...SIGN, ...tls, image]);
    assert.equal(signed.code, 0, signed.stderr);
    const verified = await env.run([...VERIFY, ...tls, image]);
    assert.equal(verified.code, 0, verified.stderr);
    // Without the client certificate the handshake fails.
    const anonymous = await env.run([...VERIFY, "--registry-cacert", env.pki.chain, image]);
    assert.equal(anonymous.code, 1);
    assert.match(anonymous.stderr, /Cannot reach "127\.0\.0\.1:\d+" over HTTPS/);
    // A client certificate of another CA is refused too.
    await Deno.mkdir(`${env.dir}/other`);
    const other = await createTestPki(`${env.dir}/other`, "Other");
    const stranger = await other.issue("stranger", {
      usage: "clientAuth",
      san: ["email:x@y.test"],
    });
    const refused = await env.run([
      ...VERIFY,
      "--registry-cacert",
      env.pki.chain,
      "--registry-client-cert",
      stranger.cert,
      "--registry-client-key",
      stranger.key,
      image,
    ]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /Cannot reach "127\.0\.0\.1:\d+" over HTTPS/);
    // The pair goes together.
    const half = await env.run([...VERIFY, "--registry-client-cert", client.cert, image]);
    assert.equal(half.code, 1);
    assert.match(half.stderr, /Pass --registry-client-cert and --registry-client-key together/);
  });

  Deno.test("[docker-registry, TLS] --registry-server-name verifies the certificate for another name; --allow-insecure-registry skips verification with a warning", async () => {
    await using dir = await tempDir();
    const env = await openTlsEnv(dir.path);
    // The certificate names registry.test only: not the 127.0.0.1 the client dials.
    const server = await env.pki.issue("server", {
      usage: "serverAuth",
      san: ["DNS:registry.test"],
    });
    await using registry = await startDockerRegistry({
      tls: { certificate: server.cert, key: server.key },
    });
    const chain = await Deno.readTextFile(env.pki.chain);
    const image = await pushImage(env, registry, "sni/app", {
      caCertificates: [chain],
      serverName: "registry.test",
    });
    const ca = ["--registry-cacert", env.pki.chain];
    const wrongName = await env.run([...VERIFY, ...ca, image]);
    assert.equal(wrongName.code, 1);
    assert.match(wrongName.stderr, /certificate not valid for name "127\.0\.0\.1"/);
    const named = [...ca, "--registry-server-name", "registry.test"];
    const signed = await env.run([...SIGN, ...named, image]);
    assert.equal(signed.code, 0, signed.stderr);
    const verified = await env.run([...VERIFY, ...named, image]);
    assert.equal(verified.code, 0, verified.stderr);
    const otherName = await env.run([
      ...VERIFY,
      ...ca,
      "--registry-server-name",
      "other.test",
      image,
    ]);
    assert.equal(otherName.code, 1);
    assert.match(otherName.stderr, /other\.test.* is not in the cert's altnames/);

    // No CA, wrong name: --allow-insecure-registry talks TLS without verifying, and says so.
    const insecure = await env.run([...VERIFY, "--allow-insecure-registry", image]);
    assert.equal(insecure.code, 0, insecure.stderr);
    assert.match(
      insecure.stderr,
      /WARNING: --allow-insecure-registry: registry TLS certificates are not verified/,
    );
  });

  Deno.test("[docker-registry, plain HTTP] --allow-insecure-registry falls back to plain HTTP when the registry has no TLS", async () => {
    await using dir = await tempDir();
    const env = await openTlsEnv(dir.path);
    await using registry = await startDockerRegistry();
    const image = await pushImage(env, registry, "plain/app", {});
    const signed = await env.run([...SIGN, "--allow-insecure-registry", image]);
    assert.equal(signed.code, 0, signed.stderr);
    const verified = await env.run([...VERIFY, "--allow-insecure-registry", image]);
    assert.equal(verified.code, 0, verified.stderr);
    assert.match(verified.stderr, /WARNING: --allow-insecure-registry/);
  });
}
