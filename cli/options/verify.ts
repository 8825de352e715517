/**
 * The verification flags shared by every verifying command (cosign-spec.md sections 7.4 and
 * 9.5), and the `VerificationPolicy` they build. The policy is the same for images, blobs and
 * attestations: one path (SECURITY.md rule 3).
 *
 * @module
 */

import { fromUtf8, type HashName } from "../../lib/util/bytes.ts";
import { CosignError, errorMessage } from "../../lib/errors.ts";
import {
  type Certificate,
  parseCertificate,
  parseCertificatesPem,
} from "../../lib/x509/certificate.ts";
import type { RekorClient } from "../../lib/tlog/rekor/client.ts";
import type { VerificationPolicy } from "../../lib/verify/entity.ts";
import type { IdentityMatcher } from "../../lib/verify/entity.ts";
import { wholeValueRegExp } from "../../lib/verify/identity_policy.ts";
import type { CommandInput } from "../spec.ts";

export {
  CERTIFICATE_CHAIN_FLAG,
  CERTIFICATE_FLAG,
  LOG_FLAGS,
  PRIVATE_CA_FLAGS,
  SIGNER_POLICY_FLAGS,
  TRUST_FLAGS,
} from "./flags.ts";
import { loadPublicKey } from "../keys/key_refs.ts";
import { loadTrustedRoot, trustOverridesSet } from "./trust.ts";

/** Most bytes of a PEM certificate file (`--ca-roots`, `--certificate-chain`, ...) we read. */
const MAX_CERTIFICATES_BYTES = 1 << 20;

/** Most certificates one such file may hold (SECURITY.md rule 4; the chain builder's bound). */
const MAX_CERTIFICATES = 32;

/** The certificates of the PEM file a flag names (at least one, at most `MAX_CERTIFICATES`). */
export async function readCertificatesFlag(
  input: CommandInput,
  flag: string,
): Promise<Certificate[] | undefined> {
  const path = input.flags.declares(flag) ? input.flags.string(flag) : undefined;
  if (path === undefined) return undefined;
  const bytes = await input.ctx.readFile(path, {
    maxBytes: MAX_CERTIFICATES_BYTES,
    what: `--${flag}`,
  });
  let certificates: Certificate[];
  try {
    const text = fromUtf8(bytes);
    certificates = text.includes("-----BEGIN")
      ? parseCertificatesPem(text)
      : [parseCertificate(bytes)];
  } catch (cause) {
    throw new CosignError(
      "CLI_USAGE",
      `Cannot read certificates from --${flag} "${path}": ${errorMessage(cause)}`,
      { cause },
    );
  }
  if (certificates.length === 0 || certificates.length > MAX_CERTIFICATES) {
    throw new CosignError(
      "CLI_USAGE",
      `--${flag} "${path}" holds ${certificates.length} certificates: expected 1 to ${MAX_CERTIFICATES}`,
    );
  }
  return certificates;
}

/**
 * The private CA the flags name (cosign's non-Fulcio PKI): `--certificate-chain` (issuer first,
 * root last: the root is the anchor, the rest intermediates), or `--ca-roots` with optional
 * `--ca-intermediates`. Undefined when none is given: the trusted root's CAs apply.
 */
export async function loadCertificateAuthority(
  input: CommandInput,
): Promise<VerificationPolicy["certificateAuthority"]> {
  const chain = await readCertificatesFlag(input, "certificate-chain");
  const roots = await readCertificatesFlag(input, "ca-roots");
  const intermediates = await readCertificatesFlag(input, "ca-intermediates");
  if (chain && (roots || intermediates)) {
    throw new CosignError(
      "CLI_USAGE",
      "--certificate-chain and --ca-roots/--ca-intermediates both name the CA: give one of them",
    );
  }
  if (intermediates && !roots) {
    throw new CosignError("CLI_USAGE", "--ca-intermediates needs --ca-roots");
  }
  if (chain) return { roots: chain.slice(-1), intermediates: chain.slice(0, -1) };
  if (roots) return { roots, intermediates: intermediates ?? [] };
  return undefined;
}

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
  const authority = await loadCertificateAuthority(input);
  if (keyRef !== undefined && authority) {
    throw new CosignError(
      "CLI_USAGE",
      "--key cannot be combined with --certificate-chain or --ca-roots: a key is trusted as it is",
    );
  }
  const ignoreTlog = flags.boolean("insecure-ignore-tlog");
  const ignoreSct = flags.boolean("insecure-ignore-sct");
  const keyless = keyRef === undefined;
  // A key (or a private CA) with no log, no timestamp and no SCT checks nothing a trusted root
  // vouches for: no TUF then.
  const needsRoot = !ignoreTlog || flags.boolean("use-signed-timestamps") ||
    (keyless && (authority === undefined || !ignoreSct));
  // A private CA's leaf is not in the public CT logs: checking its SCT needs a trusted root the
  // user names, never the public-good one TUF would bring.
  if (
    authority && keyless && !ignoreSct && flags.string("trusted-root") === undefined &&
    trustOverridesSet(input).length === 0
  ) {
    throw new CosignError(
      "TRUST_MISSING",
      "No trusted root for the certificate's SCT: a private CA (--ca-roots, --certificate-chain) verifies its SCT only against a --trusted-root naming its CT log; pass one, or --insecure-ignore-sct",
    );
  }
  const trustedRoot = needsRoot
    ? (await loadTrustedRoot(input, { offline: flags.boolean("offline") })).trustedRoot
    : undefined;
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
    ...(authority ? { certificateAuthority: authority } : {}),
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
