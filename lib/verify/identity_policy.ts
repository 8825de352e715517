/**
 * Certificate identity policy (cosign-spec.md section 7.4): which SAN and OIDC issuer a
 * keyless signature must carry, as exact strings or whole-value regular expressions (never
 * substrings), and which GitHub workflow values. The bundle path compares the one SAN
 * sigstore-go picks; the legacy path accepts any SAN. `lib/verify/pipeline.ts` applies the policy once
 * the certificate's chain, time and SCT have verified.
 *
 * @module
 */

import { CosignError } from "../errors.ts";
import type { VerificationPolicy } from "./entity.ts";
import type { CertificateIdentity, GithubWorkflow } from "../x509/identity.ts";

/** Error codes raised here. */
export type IdentityPolicyErrorCode = "VERIFY_IDENTITY_MISMATCH" | "VERIFY_INVALID_REGEXP";

function fail(code: IdentityPolicyErrorCode, message: string, cause?: unknown): never {
  throw new CosignError(code, message, cause === undefined ? undefined : { cause });
}

/** Compile a user's identity pattern so it must match the whole value. */
export function wholeValueRegExp(pattern: string): RegExp {
  try {
    return new RegExp(`^(?:${pattern})$`, "u");
  } catch (cause) {
    return fail("VERIFY_INVALID_REGEXP", `Invalid regular expression "${pattern}"`, cause);
  }
}

function matchesValue(found: string | undefined, exact?: string, pattern?: string): boolean {
  // An absent value is the empty string, as in cosign: only a pattern matching "" accepts it.
  const value = found ?? "";
  if (exact !== undefined && (found === undefined || value !== exact)) return false;
  if (pattern !== undefined && !wholeValueRegExp(pattern).test(value)) return false;
  return true;
}

/**
 * Check a certificate identity against the policy: some matcher must accept both a SAN (any SAN
 * on the legacy path, else the one sigstore-go picks) and the issuer, and every GitHub workflow
 * value the policy gives must be the certificate's. A mismatch raises `VERIFY_IDENTITY_MISMATCH`.
 */
export function checkIdentity(
  identity: CertificateIdentity,
  policy: Pick<VerificationPolicy, "identities" | "githubWorkflow">,
  legacy: boolean,
): void {
  const matchers = policy.identities ?? [];
  // The legacy path accepts any SAN; the bundle path compares the one sigstore-go picks.
  const candidates = legacy
    ? identity.sans.map((name) => name.value)
    : identity.san === undefined
    ? []
    : [identity.san];
  const ok = matchers.some((m) =>
    candidates.some((san) => matchesValue(san, m.subject, m.subjectRegExp)) &&
    matchesValue(identity.issuer, m.issuer, m.issuerRegExp)
  );
  if (!ok) {
    const wanted = matchers.map((m) =>
      `identity ${m.subject !== undefined ? `"${m.subject}"` : `matching /${m.subjectRegExp}/`}` +
      ` from issuer ${m.issuer !== undefined ? `"${m.issuer}"` : `matching /${m.issuerRegExp}/`}`
    ).join(" or ");
    fail(
      "VERIFY_IDENTITY_MISMATCH",
      `Certificate identity "${identity.san ?? "(none)"}" from issuer "${
        identity.issuer ?? "(none)"
      }" does not match the expected ${wanted}`,
    );
  }
  for (const [field, expected] of Object.entries(policy.githubWorkflow ?? {})) {
    const actual = identity.githubWorkflow[field as keyof GithubWorkflow];
    if (expected !== undefined && actual !== expected) {
      fail(
        "VERIFY_IDENTITY_MISMATCH",
        `Certificate GitHub workflow ${field} "${actual ?? "(none)"}" is not "${expected}"`,
      );
    }
  }
}
