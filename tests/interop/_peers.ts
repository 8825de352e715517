/**
 * An environment for running real cosign 2.5 and skopeo 1.18 against dcosign: the embedded
 * stack over a socket (its Rekor, Fulcio with the v1 API cosign 2.x calls, OIDC issuer), and a
 * registry, either the stack's own or Debian's docker-registry (distribution 2.8, no referrers
 * API). The stack's trust material is written both ways the peers read it: `trusted_root.json`,
 * and the PEM files of cosign's `SIGSTORE_ROOT_FILE`, `SIGSTORE_CT_LOG_PUBLIC_KEY_FILE` and
 * `SIGSTORE_REKOR_PUBLIC_KEY` (cosign 2.5's legacy verification reads no trusted root) and of
 * skopeo's `sigstoreSigned` policy. Peers run with a private HOME and TUF_ROOT and no network
 * beyond 127.0.0.1, so they can never fall back to the public-good instance.
 *
 * @module
 */

import { join } from "node:path";
import { encodePem } from "../../lib/util/pem.ts";
import { encodeTrustedRoot } from "../../lib/trust/trusted_root.ts";
import { encodeSigningConfig } from "../../lib/trust/signing_config.ts";
import { type Stack, startStack } from "../../server/mod.ts";
import { type CliResult, dcosign } from "../_cli.ts";
import { tempDir } from "../_support.ts";
import { type DockerRegistry, startDockerRegistry } from "../registry/_docker_registry.ts";
import {
  content,
  fetchBlob,
  fetchManifest,
  pushBlob,
  pushLayout,
  pushManifest,
  writeOciLayout,
} from "../registry/_oci_layout.ts";

/** Where the images live. */
export type RegistryKind = "embedded" | "docker-registry";

/** A pushed test image. */
export interface PeerImage {
  /** `host:port/repo:v1`. */
  readonly reference: string;
  /** `host:port/repo`. */
  readonly repository: string;
  readonly digest: string;
  /** `host:port/repo@sha256:...`. */
  readonly byDigest: string;
}

/** The paths of the trust files, in the work directory. */
export interface TrustFiles {
  readonly trustedRoot: string;
  readonly signingConfig: string;
  /** Fulcio's intermediate and root, PEM. */
  readonly fulcioChain: string;
  readonly ctLogKey: string;
  readonly rekorKey: string;
}

/** The environment of one interop test. */
export interface PeerEnv extends AsyncDisposable {
  readonly kind: RegistryKind;
  /** The work directory: keys, trust files, blobs. */
  readonly dir: string;
  readonly stack: Stack;
  /** The stack's base URL (Rekor, Fulcio, OIDC issuer). */
  readonly url: string;
  /** The registry as image references name it (`127.0.0.1:PORT`). */
  readonly registry: string;
  readonly trust: TrustFiles;
  /** cosign's trust variables (for its legacy verification and its signing-time checks). */
  readonly cosignTrustEnv: Readonly<Record<string, string>>;
  /** A fresh identity token of the stack's issuer (`signer@dcosign.test`). */
  token(): Promise<string>;
  /** Push a fresh random image to `registry/repository:v1`. */
  push(repository: string): Promise<PeerImage>;
  /** Run dcosign in-process in `dir` (password `pw`). */
  dcosign(argv: string[]): Promise<CliResult>;
  /** Run a real tool in `dir` with a private environment plus `env`. */
  run(tool: string, args: string[], env?: Record<string, string>): Promise<CliResult>;
}

/** Uploads as POST + PATCH + PUT: distribution 2.8 has no monolithic `POST ?digest=`. */
const CHUNKED = { chunkSize: 1 << 20 };

/** The identity the stack's tokens carry. */
export const IDENTITY = "signer@dcosign.test";

/** Open the stack, the registry of `kind`, and write the trust files. */
export async function openPeerEnv(kind: RegistryKind): Promise<PeerEnv> {
  const work = await tempDir("dcosign-peers-");
  const stack = await startStack({ port: 0 });
  let docker: DockerRegistry | undefined;
  try {
    if (kind === "docker-registry") docker = await startDockerRegistry();
  } catch (error) {
    await stack.close();
    await work[Symbol.asyncDispose]();
    throw error;
  }
  const dir = work.path;
  const registry = docker?.host ?? stack.registryHost;
  const root = stack.trust.trustedRoot;
  const trust: TrustFiles = {
    trustedRoot: join(dir, "trusted_root.json"),
    signingConfig: join(dir, "signing_config.json"),
    fulcioChain: join(dir, "fulcio_chain.pem"),
    ctLogKey: join(dir, "ctlog.pub"),
    rekorKey: join(dir, "rekor.pub"),
  };
  await Deno.writeTextFile(trust.trustedRoot, JSON.stringify(encodeTrustedRoot(root)));
  await Deno.writeTextFile(
    trust.signingConfig,
    JSON.stringify(encodeSigningConfig(stack.trust.signingConfig)),
  );
  await Deno.writeTextFile(
    trust.fulcioChain,
    root.certificateAuthorities[0]!.certificates.map((c) => encodePem("CERTIFICATE", c)).join(""),
  );
  await Deno.writeTextFile(trust.ctLogKey, root.ctlogs[0]!.key.toPem());
  await Deno.writeTextFile(trust.rekorKey, root.tlogs[0]!.key.toPem());
  const home = join(dir, "home");
  await Deno.mkdir(home);
  let pushed = 0;
  const env: PeerEnv = {
    kind,
    dir,
    stack,
    url: stack.url,
    registry,
    trust,
    cosignTrustEnv: {
      SIGSTORE_ROOT_FILE: trust.fulcioChain,
      SIGSTORE_CT_LOG_PUBLIC_KEY_FILE: trust.ctLogKey,
      SIGSTORE_REKOR_PUBLIC_KEY: trust.rekorKey,
    },
    token: () => stack.services.oidc.mintToken(),
    async push(repository) {
      const layout = await writeOciLayout(join(dir, `layout-${pushed++}`));
      const digest = await pushLayout(layout, `http://${registry}`, repository, CHUNKED);
      return {
        reference: `${registry}/${repository}:v1`,
        repository: `${registry}/${repository}`,
        digest,
        byDigest: `${registry}/${repository}@${digest}`,
      };
    },
    dcosign: (argv) => dcosign(argv, { cwd: dir, env: { COSIGN_PASSWORD: "pw" } }),
    async run(tool, args, extra = {}) {
      const output = await new Deno.Command(tool, {
        args,
        cwd: dir,
        clearEnv: true,
        env: {
          PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
          HOME: home,
          XDG_RUNTIME_DIR: home,
          XDG_CONFIG_HOME: join(home, ".config"),
          TUF_ROOT: join(home, "tuf"),
          REGISTRY_AUTH_FILE: join(home, "auth.json"),
          COSIGN_PASSWORD: "pw",
          NO_COLOR: "1",
          ...extra,
        },
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
      const decoder = new TextDecoder();
      return {
        code: output.code,
        stdout: decoder.decode(output.stdout),
        stderr: decoder.decode(output.stderr),
      };
    },
    async [Symbol.asyncDispose]() {
      await docker?.[Symbol.asyncDispose]();
      await stack.close();
      await work[Symbol.asyncDispose]();
    },
  };
  return env;
}

/**
 * Rewrite the payload of an image's legacy `.sig` layer (the first) in place: the signature
 * annotation stays, the payload names another repository, and the `.sig` tag is re-pointed, as
 * someone with push rights but without the key would. Every verifier must refuse it.
 */
export async function tamperLegacySignature(env: PeerEnv, image: PeerImage): Promise<void> {
  const base = `http://${env.registry}`;
  const repository = image.repository.slice(env.registry.length + 1);
  const tag = `sha256-${image.digest.slice("sha256:".length)}.sig`;
  const fetched = await fetchManifest(base, repository, tag);
  const manifest = JSON.parse(new TextDecoder().decode(fetched.bytes));
  const layer = manifest.layers[0];
  const payload = JSON.parse(
    new TextDecoder().decode(await fetchBlob(base, repository, layer.digest)),
  );
  payload.critical.identity["docker-reference"] = "evil.example/other";
  const forged = content(layer.mediaType, new TextEncoder().encode(JSON.stringify(payload)));
  await pushBlob(base, repository, forged, CHUNKED);
  manifest.layers[0] = { ...layer, digest: forged.digest, size: forged.size };
  const mediaType = manifest.mediaType ?? "application/vnd.oci.image.manifest.v1+json";
  await pushManifest(
    base,
    repository,
    tag,
    content(mediaType, new TextEncoder().encode(JSON.stringify(manifest))),
  );
}

/** A SLSA v0.2 provenance predicate with the fields cosign requires. */
export const PROVENANCE = {
  builder: { id: "https://github.com/octo/app/.github/workflows/release.yml@refs/heads/main" },
  buildType: "https://github.com/slsa-framework/slsa-github-generator/generic@v1",
  invocation: { configSource: { uri: "git+https://github.com/octo/app@refs/heads/main" } },
};
