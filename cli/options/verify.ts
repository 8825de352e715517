/**
 * The verification flags shared by every verifying command (cosign-spec.md sections 7.4 and
 * 9.5), and the `VerificationPolicy` they build. The policy is the same for images, blobs and
 * attestations: one path (SECURITY.md rule 3).
 *
 * @module
 */

import type { HashName } from "../../lib/util/bytes.ts";
import { CosignError } from "../../lib/errors.ts";
import type { RekorClient } from "../../lib/tlog/rekor/client.ts";
import { parseTrustedRoot, type TrustedRoot } from "../../lib/trust/trusted_root.ts";
import type { VerificationPolicy } from "../../lib/verify/entity.ts";
import type { IdentityMatcher } from "../../lib/verify/entity.ts";
import { wholeValueRegExp } from "../../lib/verify/identity_policy.ts";
import type { CommandInput } from "../spec.ts";

export { LOG_FLAGS, SIGNER_POLICY_FLAGS, TRUST_FLAGS } from "./flags.ts";
import { loadPublicKey } from "../keys/key_refs.ts";

/** Most bytes of a trusted root file we read. */
const MAX_TRUSTED_ROOT_BYTES = 4 << 20;

/**
 * The log to check entries against online, when `--rekor-url` asks for one (the client code
 * loads only then: an offline verification never parses it).
 */
export async function onlineLog(input: CommandInput): Promise<RekorClient | undefined> {
  const url = input.flags.string("rekor-url");
  if (url === undefined) return undefined;
  if (input.flags.boolean("offline")) {
    throw new CosignError("CLI_USAGE", "--offline cannot be combined with --rekor-url");
  }
  const { RekorClient } = await import("../../lib/tlog/rekor/client.ts");
  return new RekorClient({ baseUrl: url, fetch: input.ctx.fetch });
}

/** Read and parse `--trusted-root` (undefined when not given). */
export async function loadTrustedRoot(input: CommandInput): Promise<TrustedRoot | undefined> {
  const path = input.flags.string("trusted-root");
  if (path === undefined) return undefined;
  const bytes = await input.ctx.readFile(path, {
    maxBytes: MAX_TRUSTED_ROOT_BYTES,
    what: "trusted root",
    code: "TRUST_MISSING",
  });
  return parseTrustedRoot(bytes);
}

/**
 * The policy the flags describe. A key excludes identities; without a key, both an identity
 * flag and an issuer flag are required (cosign-spec.md section 7.4).
 */
export async function buildPolicy(input: CommandInput): Promise<VerificationPolicy> {
  const { flags, ctx } = input;
  const keyRef = flags.string("key");
  const subject = flags.string("certificate-identity");
  const subjectRegExp = flags.string("certificate-identity-regexp");
  const issuer = flags.string("certificate-oidc-issuer");
  const issuerRegExp = flags.string("certificate-oidc-issuer-regexp");
  const hasIdentity = subject !== undefined || subjectRegExp !== undefined;
  const hasIssuer = issuer !== undefined || issuerRegExp !== undefined;
  if (keyRef !== undefined && (hasIdentity || hasIssuer)) {
    throw new CosignError(
      "CLI_USAGE",
      "--key cannot be combined with --certificate-identity or --certificate-oidc-issuer flags",
    );
  }
  if (keyRef === undefined && !(hasIdentity && hasIssuer)) {
    throw new CosignError(
      "CLI_USAGE",
      "Verification needs --key, or both --certificate-identity(-regexp) and --certificate-oidc-issuer(-regexp)",
    );
  }
  // Compile now so a bad pattern is a usage error before any network call.
  for (const pattern of [subjectRegExp, issuerRegExp]) {
    if (pattern !== undefined) wholeValueRegExp(pattern);
  }
  const identity: IdentityMatcher = {
    ...(subject !== undefined ? { subject } : {}),
    ...(subjectRegExp !== undefined ? { subjectRegExp } : {}),
    ...(issuer !== undefined ? { issuer } : {}),
    ...(issuerRegExp !== undefined ? { issuerRegExp } : {}),
  };
  const github: Record<string, string> = {};
  for (const field of ["trigger", "sha", "name", "repository", "ref"]) {
    const value = flags.string(`certificate-github-workflow-${field}`);
    if (value !== undefined) github[field] = value;
  }
  const trustedRoot = await loadTrustedRoot(input);
  const ignoreTlog = flags.boolean("insecure-ignore-tlog");
  if (
    !trustedRoot && (!ignoreTlog || keyRef === undefined || flags.boolean("use-signed-timestamps"))
  ) {
    throw new CosignError(
      "TRUST_MISSING",
      "No trusted root: pass --trusted-root (dcosign serve writes one; the TUF client that fetches the public-good root is not built yet), or --key with --insecure-ignore-tlog",
    );
  }
  if (ignoreTlog) {
    input.out.warn(
      "Skipping transparency log verification: the signature may never have been logged",
    );
  }
  const keyHash = flags.string("signature-digest-algorithm") as HashName | undefined;
  return {
    ...(trustedRoot ? { trustedRoot } : {}),
    ...(keyRef !== undefined ? { key: await loadPublicKey(ctx, keyRef) } : {}),
    ...(keyHash ? { keyHash } : {}),
    ...(keyRef === undefined ? { identities: [identity] } : {}),
    ...(Object.keys(github).length ? { githubWorkflow: github } : {}),
    tlogThreshold: ignoreTlog ? 0 : 1,
    ctlogThreshold: flags.boolean("insecure-ignore-sct") ? 0 : 1,
    timestampThreshold: flags.boolean("use-signed-timestamps") ? 1 : 0,
    now: ctx.now(),
  };
}

/** Parse `-a key=value` flags (split at the first `=`). */
export function parseAnnotations(values: readonly string[]): Record<string, string> {
  const annotations: Record<string, string> = {};
  for (const value of values) {
    const eq = value.indexOf("=");
    if (eq <= 0) {
      throw new CosignError("CLI_USAGE", `Invalid annotation "${value}": expected key=value`);
    }
    annotations[value.slice(0, eq)] = value.slice(eq + 1);
  }
  return annotations;
}
