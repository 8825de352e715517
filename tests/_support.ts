/**
 * Shared test support: where the interop corpus lives, and how suites that need a real
 * component (a registry binary, skopeo, Node, the corpus) decide to run, skip, or fail.
 *
 * A missing component prints one `SKIPPED <suite>: <reason>` line and registers an ignored test,
 * so the skip is visible in every report; with `CI=true` it registers a failing test instead.
 *
 * @module
 */

import { fileURLToPath as fromFileUrl } from "node:url";

/** The repository root. */
export const REPO_ROOT = fromFileUrl(new URL("../", import.meta.url));

/** The interop corpus (`../shared/interop` beside the repository; override `DCOSIGN_INTEROP`). */
export const INTEROP_DIR = Deno.env.get("DCOSIGN_INTEROP") ??
  fromFileUrl(new URL("../../shared/interop/", import.meta.url));

/** True when running under CI (`CI=true`). */
export const IN_CI = Deno.env.get("CI") === "true";

/** Path of a file in the interop corpus. */
export function interopPath(relative: string): string {
  return `${INTEROP_DIR.replace(/\/$/, "")}/${relative}`;
}

/** Read a text file of the interop corpus. */
export function readInteropText(relative: string): string {
  return Deno.readTextFileSync(interopPath(relative));
}

/** Read a file of the interop corpus as bytes. */
export function readInteropBytes(relative: string): Uint8Array<ArrayBuffer> {
  return Deno.readFileSync(interopPath(relative)) as Uint8Array<ArrayBuffer>;
}

/** Whether an executable is on PATH. */
export function hasExecutable(name: string): boolean {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    try {
      if (Deno.statSync(`${dir}/${name}`).isFile) return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}

/** Whether a path exists. */
export function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** A component a suite needs, and how to tell it is present. */
export interface Requirement {
  readonly name: string;
  readonly present: () => boolean;
}

/** The interop corpus. */
export const INTEROP: Requirement = {
  name: "interop corpus (../shared/interop)",
  present: () => exists(interopPath("fixtures/FIXTURES.md")),
};

/** An executable on PATH. */
export function executable(name: string): Requirement {
  return { name: `${name} on PATH`, present: () => hasExecutable(name) };
}

/** Where `debian13-peers.sh` (`../shared/tools`) unpacks the real peers, and its variables. */
const PEERS: Readonly<Record<"COSIGN" | "SKOPEO_NEW", { name: string; path: string }>> = {
  COSIGN: { name: "cosign 2.5", path: "root/usr/bin/cosign" },
  SKOPEO_NEW: { name: "skopeo 1.18", path: "skopeo-1.18" },
};

/**
 * A real peer tool: `$COSIGN` or `$SKOPEO_NEW` as `debian13-peers.sh`'s `peers_fetch` sets them
 * (`.ci/run` exports them), else where that script unpacks them (`$PEERS_CACHE`, default
 * `/tmp/dcosign-peers`). `path()` is undefined when neither is an executable file.
 */
export function peerTool(variable: "COSIGN" | "SKOPEO_NEW"): Requirement & {
  readonly path: () => string | undefined;
} {
  const peer = PEERS[variable];
  const path = () => {
    const cache = Deno.env.get("PEERS_CACHE") ?? "/tmp/dcosign-peers";
    for (const candidate of [Deno.env.get(variable), `${cache}/${peer.path}`]) {
      if (candidate === undefined || candidate === "") continue;
      try {
        const info = Deno.statSync(candidate);
        if (info.isFile && ((info.mode ?? 0) & 0o111) !== 0) return candidate;
      } catch {
        // not there
      }
    }
    return undefined;
  };
  return { name: `${peer.name} ($${variable})`, present: () => path() !== undefined, path };
}

/**
 * The requirements that are missing. When some are, registers a visible skip (or, in CI, a
 * failing test) named after the suite, and returns false: the caller then defines no tests.
 */
export function requireComponents(suite: string, ...requirements: Requirement[]): boolean {
  const missing = requirements.filter((r) => !r.present()).map((r) => r.name);
  if (missing.length === 0) return true;
  const reason = `missing ${missing.join(", ")}`;
  if (IN_CI) {
    Deno.test(`${suite} (component check)`, () => {
      throw new Error(`${suite}: ${reason} (CI=true: a missing component is a failure)`);
    });
  } else {
    console.log(`SKIPPED ${suite}: ${reason}`);
    Deno.test({ name: `${suite} (SKIPPED: ${reason})`, ignore: true, fn() {} });
  }
  return false;
}

/** A fresh temporary directory, removed on dispose. */
export async function tempDir(
  prefix = "dcosign-test-",
): Promise<AsyncDisposable & { path: string }> {
  const path = await Deno.makeTempDir({ prefix });
  return {
    path,
    async [Symbol.asyncDispose]() {
      await Deno.remove(path, { recursive: true }).catch(() => {});
    },
  };
}

/**
 * A fresh RSA 2048 private key as PKCS#8 PEM, for `import-key-pair`: its PKCS#1 v1.5
 * signatures are deterministic, so signing the same content twice repeats a log entry.
 */
export async function rsaPrivateKeyPem(): Promise<string> {
  const key = await crypto.subtle.generateKey(
    {
      name: "RSASSA-PKCS1-v1_5",
      modulusLength: 2048,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: "SHA-256",
    },
    true,
    ["sign", "verify"],
  );
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", key.privateKey));
  return `-----BEGIN PRIVATE KEY-----\n${pkcs8.toBase64()}\n-----END PRIVATE KEY-----\n`;
}
