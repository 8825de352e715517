/**
 * `deno run` from a URL: the CLI runs from a `file://` URL of a copy of the modules outside the
 * repository, with no config file, no lock file, and only the permissions the README lists for
 * each command (every import is a pinned `npm:` specifier; nothing reads repository files at
 * import time).
 */

import assert from "node:assert/strict";
import { startStack } from "../../server/mod.ts";
import { REPO_ROOT, tempDir } from "../_support.ts";
import { pushLayout, writeOciLayout } from "../registry/_oci_layout.ts";

async function copyModules(target: string): Promise<string> {
  for (const dir of ["cli", "lib", "server"]) {
    await new Deno.Command("cp", { args: ["-r", `${REPO_ROOT}${dir}`, `${target}/${dir}`] })
      .output();
  }
  await Deno.copyFile(`${REPO_ROOT}main.ts`, `${target}/main.ts`);
  return new URL(`file://${target}/main.ts`).href;
}

async function runFromUrl(
  url: string,
  permissions: string[],
  argv: string[],
  options: { cwd: string; env?: Record<string, string> },
) {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-config", "--no-lock", ...permissions, url, ...argv],
    cwd: options.cwd,
    env: { NO_COLOR: "1", ...options.env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code, stdout: decode(stdout), stderr: decode(stderr) };
}

Deno.test("the CLI runs from a file:// URL outside the repository with narrow permissions", async () => {
  await using copy = await tempDir("dcosign-url-copy-");
  await using work = await tempDir("dcosign-url-work-");
  const url = await copyModules(copy.path);
  const cwd = work.path;

  // No permissions at all: version and help read nothing.
  const version = await runFromUrl(url, [], ["version"], { cwd });
  assert.equal(version.code, 0, version.stderr);
  assert.match(version.stdout, /^dcosign \d+\.\d+\.\d+/);
  const help = await runFromUrl(url, [], ["verify", "--help"], { cwd });
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /--certificate-identity/);

  // Keys: files in the working directory and the password variable.
  const keyPermissions = [`--allow-read=${cwd}`, `--allow-write=${cwd}`, "--allow-env"];
  const keys = await runFromUrl(url, keyPermissions, ["generate-key-pair"], {
    cwd,
    env: { COSIGN_PASSWORD: "pw" },
  });
  assert.equal(keys.code, 0, keys.stderr);

  // Sign and verify against a registry: network to it, the key files, the environment.
  await using stack = await startStack({ port: 0 });
  const layout = await writeOciLayout(`${cwd}/layout`);
  await pushLayout(layout, stack.url, "url/app");
  const image = `${stack.registryHost}/url/app:v1`;
  const netPermissions = [
    `--allow-net=${stack.registryHost}`,
    `--allow-read=${cwd}`,
    "--allow-env",
  ];
  const sign = await runFromUrl(url, netPermissions, [
    "sign",
    "--key",
    "cosign.key",
    "--tlog-upload=false",
    image,
  ], { cwd, env: { COSIGN_PASSWORD: "pw", HOME: cwd } });
  assert.equal(sign.code, 0, sign.stderr);
  const verify = await runFromUrl(url, netPermissions, [
    "verify",
    "--key",
    "cosign.pub",
    "--insecure-ignore-tlog",
    image,
  ], { cwd, env: { HOME: cwd } });
  assert.equal(verify.code, 0, verify.stderr);

  // Without network permission the failure is one clear line, not a crash.
  const denied = await runFromUrl(url, [`--allow-read=${cwd}`, "--allow-env"], [
    "verify",
    "--key",
    "cosign.pub",
    "--insecure-ignore-tlog",
    image,
  ], { cwd, env: { HOME: cwd } });
  assert.equal(denied.code, 1);
  assert.match(denied.stderr, /^Error: .*net/m);
});
