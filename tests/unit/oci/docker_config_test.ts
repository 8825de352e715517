import assert from "node:assert/strict";
import { toBase64, utf8 } from "../../../lib/util/bytes.ts";
import {
  createCredentialResolver,
  dockerConfigPaths,
  loadDockerConfig,
  lookupCredentials,
  normalizeConfigKey,
  parseDockerConfig,
} from "../../../lib/oci/docker_config.ts";
import { isCosignError } from "../../../lib/errors.ts";
import { tempDir } from "../../_support.ts";

const b64 = (text: string) => toBase64(utf8(text));

function files(map: Record<string, string>) {
  const reads: string[] = [];
  return {
    reads,
    readFile: (path: string) => {
      reads.push(path);
      return Promise.resolve(map[path]);
    },
  };
}

Deno.test("dockerConfigPaths() follows the spec 10.4 search order", () => {
  assert.deepEqual(dockerConfigPaths({ HOME: "/h" }), [
    "/h/.docker/config.json",
    "/h/.config/containers/auth.json",
  ]);
  assert.deepEqual(
    dockerConfigPaths({
      HOME: "/h",
      DOCKER_CONFIG: "/d",
      REGISTRY_AUTH_FILE: "/r.json",
      XDG_RUNTIME_DIR: "/run/u",
      XDG_CONFIG_HOME: "/x",
    }),
    ["/d/config.json", "/r.json", "/run/u/containers/auth.json", "/x/containers/auth.json"],
  );
});

Deno.test("loadDockerConfig() uses the first file that exists and honours DOCKER_CONFIG", async () => {
  const fs = files({
    "/d/config.json": JSON.stringify({ auths: { "ghcr.io": { auth: b64("a:b") } } }),
    "/h/.docker/config.json": JSON.stringify({ auths: {} }),
  });
  const config = await loadDockerConfig({ env: { HOME: "/h", DOCKER_CONFIG: "/d" }, ...fs });
  assert.equal(config?.path, "/d/config.json");
  assert.deepEqual(fs.reads, ["/d/config.json"]);
  const podman = files({ "/x/containers/auth.json": "{}" });
  const fallback = await loadDockerConfig({
    env: { HOME: "/h", XDG_CONFIG_HOME: "/x" },
    ...podman,
  });
  assert.equal(fallback?.path, "/x/containers/auth.json");
  assert.equal(await loadDockerConfig({ env: { HOME: "/nothing" }, ...files({}) }), undefined);
});

Deno.test("lookupCredentials() reads auth, username/password, identitytoken and registrytoken", async () => {
  const config = parseDockerConfig(
    JSON.stringify({
      auths: {
        "ghcr.io": { auth: b64("user:pa:ss") },
        "https://quay.io": { username: "q", password: "p" },
        "gcr.io": { identitytoken: "refresh-me" },
        "reg.example.com:5000": { registrytoken: "bearer-me" },
        "https://index.docker.io/v1/": { auth: b64("hub:secret") },
        "empty.example.com": {},
      },
    }),
    "config.json",
  );
  const get = (registry: string, repository = "org/app") =>
    lookupCredentials(config, { registry, repository });
  assert.deepEqual(await get("ghcr.io"), { username: "user", password: "pa:ss" });
  assert.deepEqual(await get("quay.io"), { username: "q", password: "p" });
  assert.deepEqual(await get("gcr.io"), { identityToken: "refresh-me" });
  assert.deepEqual(await get("reg.example.com:5000"), { registryToken: "bearer-me" });
  assert.deepEqual(await get("index.docker.io", "library/ubuntu"), {
    username: "hub",
    password: "secret",
  });
  assert.equal(await get("empty.example.com"), undefined);
});

Deno.test("lookupCredentials() matches hosts exactly, never by substring (SECURITY row 23)", async () => {
  const config = parseDockerConfig(
    JSON.stringify({
      auths: {
        "ghcr.io": { auth: b64("ghcr:x") },
        "127.0.0.1:5000": { auth: b64("local:x") },
        "https://registry.example.com/v2/": { auth: b64("ex:x") },
      },
    }),
    "config.json",
  );
  const get = (registry: string) => lookupCredentials(config, { registry, repository: "a" });
  assert.equal(await get("cr.io"), undefined);
  assert.equal(await get("ghcr.io.evil.com"), undefined);
  assert.equal(await get("victim.127.0.0.1:5000"), undefined);
  assert.equal(await get("127.0.0.1:5001"), undefined);
  assert.equal(await get("127.0.0.1"), undefined);
  assert.equal(await get("example.com"), undefined);
  assert.deepEqual(await get("127.0.0.1:5000"), { username: "local", password: "x" });
  assert.deepEqual(await get("registry.example.com"), { username: "ex", password: "x" });
});

Deno.test("lookupCredentials() prefers a full-repository key over the host key", async () => {
  const config = parseDockerConfig(
    JSON.stringify({
      auths: {
        "ghcr.io/org/special": { auth: b64("special:1") },
        "ghcr.io": { auth: b64("general:2") },
      },
    }),
    "auth.json",
  );
  assert.deepEqual(
    await lookupCredentials(config, { registry: "ghcr.io", repository: "org/special" }),
    {
      username: "special",
      password: "1",
    },
  );
  assert.deepEqual(
    await lookupCredentials(config, { registry: "ghcr.io", repository: "org/other" }),
    {
      username: "general",
      password: "2",
    },
  );
});

Deno.test("normalizeConfigKey() folds schemes, paths and Docker Hub aliases", () => {
  assert.equal(normalizeConfigKey("https://index.docker.io/v1/"), "index.docker.io");
  assert.equal(normalizeConfigKey("docker.io"), "index.docker.io");
  assert.equal(normalizeConfigKey("registry-1.docker.io"), "index.docker.io");
  assert.equal(normalizeConfigKey("HTTPS://GHCR.IO/"), "ghcr.io");
  assert.equal(normalizeConfigKey("docker.io/library/ubuntu"), "index.docker.io/library/ubuntu");
});

Deno.test("parseDockerConfig() refuses malformed JSON and a bad auth field with OCI_CREDENTIALS_INVALID", async () => {
  assert.throws(
    () => parseDockerConfig("{not json", "/c.json"),
    (e) => isCosignError(e, "OCI_CREDENTIALS_INVALID") && e.message.includes("/c.json"),
  );
  const config = parseDockerConfig(
    JSON.stringify({ auths: { "a.io": { auth: "!!" } } }),
    "/c.json",
  );
  await assert.rejects(
    () => lookupCredentials(config, { registry: "a.io", repository: "r" }),
    (e) => isCosignError(e, "OCI_CREDENTIALS_INVALID"),
  );
});

async function writeHelper(dir: string, name: string, script: string): Promise<void> {
  const path = `${dir}/docker-credential-${name}`;
  await Deno.writeTextFile(path, `#!/bin/sh\n${script}\n`);
  await Deno.chmod(path, 0o755);
}

Deno.test("credHelpers and credsStore run docker-credential-* with the server URL on stdin", async () => {
  await using dir = await tempDir();
  const log = `${dir.path}/stdin.log`;
  // The helper records what it was asked and answers per server URL, as real helpers do.
  await writeHelper(
    dir.path,
    "fake",
    `read url; echo "$url" >> ${log}
case "$url" in
  ghcr.io) echo '{"ServerURL":"ghcr.io","Username":"helper-user","Secret":"helper-pass"}';;
  https://index.docker.io/v1/) echo '{"ServerURL":"x","Username":"<token>","Secret":"refresh"}';;
  *) echo "credentials not found in native keychain"; exit 1;;
esac`,
  );
  await writeHelper(
    dir.path,
    "store",
    `read url; echo "$url" >> ${log}; echo '{"Username":"store","Secret":"s"}'`,
  );
  const env = { PATH: `${dir.path}:/usr/bin:/bin`, HOME: dir.path };
  const config = parseDockerConfig(
    JSON.stringify({
      credHelpers: { "ghcr.io": "fake", "index.docker.io": "fake", "quay.io": "fake" },
      credsStore: "store",
      auths: { "quay.io": { auth: b64("file:fallback") } },
    }),
    "config.json",
  );
  const get = (registry: string) =>
    lookupCredentials(config, { registry, repository: "o/r" }, { env });
  assert.deepEqual(await get("ghcr.io"), { username: "helper-user", password: "helper-pass" });
  assert.deepEqual(await get("index.docker.io"), { identityToken: "refresh" });
  // The helper says "not found": the auths entry for the same host is used.
  assert.deepEqual(await get("quay.io"), { username: "file", password: "fallback" });
  // No credHelpers entry: credsStore answers for the host key.
  assert.deepEqual(await get("other.example.com"), { username: "store", password: "s" });
  const asked = (await Deno.readTextFile(log)).trim().split("\n");
  assert.deepEqual(asked, [
    "ghcr.io",
    "https://index.docker.io/v1/",
    "quay.io",
    "other.example.com",
  ]);
});

Deno.test("a failing credential helper is OCI_CREDENTIAL_HELPER_FAILED, a missing one too", async () => {
  await using dir = await tempDir();
  await writeHelper(dir.path, "broken", "echo boom >&2; exit 3");
  const env = { PATH: dir.path, HOME: dir.path };
  const config = parseDockerConfig(
    JSON.stringify({ credHelpers: { "a.io": "broken", "b.io": "absent", "c.io": "../../bin/sh" } }),
    "config.json",
  );
  for (const registry of ["a.io", "b.io"]) {
    await assert.rejects(
      () => lookupCredentials(config, { registry, repository: "r" }, { env }),
      (e) => isCosignError(e, "OCI_CREDENTIAL_HELPER_FAILED"),
      registry,
    );
  }
  await assert.rejects(
    () => lookupCredentials(config, { registry: "c.io", repository: "r" }, { env }),
    (e) => isCosignError(e, "OCI_CREDENTIALS_INVALID"),
  );
});

Deno.test("createCredentialResolver() puts --registry-username/password first, then the token, then the keychain", async () => {
  const fs = files({
    "/h/.docker/config.json": JSON.stringify({ auths: { "ghcr.io": { auth: b64("file:x") } } }),
  });
  const flags = createCredentialResolver({
    username: "flag",
    password: "pw",
    env: { HOME: "/h" },
    ...fs,
  });
  assert.deepEqual(await flags("ghcr.io", "o/r"), { username: "flag", password: "pw" });
  const token = createCredentialResolver({ registryToken: "t", env: { HOME: "/h" }, ...fs });
  assert.deepEqual(await token("ghcr.io", "o/r"), { registryToken: "t" });
  const keychain = createCredentialResolver({ env: { HOME: "/h" }, ...fs });
  assert.deepEqual(await keychain("ghcr.io", "o/r"), { username: "file", password: "x" });
  assert.equal(await keychain("quay.io", "o/r"), undefined);
  // Explicit credentials scoped to one registry never reach another.
  const scoped = createCredentialResolver({
    username: "flag",
    password: "pw",
    explicitFor: ["ghcr.io"],
    env: { HOME: "/h" },
    ...fs,
  });
  assert.deepEqual(await scoped("ghcr.io", "o/r"), { username: "flag", password: "pw" });
  assert.equal(await scoped("cr.io", "o/r"), undefined);
  // The config file is read once.
  assert.equal(fs.reads.filter((p) => p === "/h/.docker/config.json").length, 2);
});
