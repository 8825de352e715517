/**
 * Certificate identity policy (cosign-spec.md section 7.4): which SAN and OIDC issuer a
 * keyless signature must carry, as exact strings or whole-value regular expressions (never
 * substrings), and which GitHub workflow values. The bundle path compares the one SAN
 * sigstore-go picks; the legacy path accepts any SAN. `lib/verify/pipeline.ts` applies the policy once
 * the certificate's chain, time and SCT have verified.
 *
 * cosign matches its `-regexp` flags anywhere in the value (Go's `MatchString`); a pattern
 * written for that, failing here only for want of anchors, gets a mismatch message that says
 * so and gives the pattern that matches the whole value (`anchoredSuggestion`).
 *
 * @module
 */

import { CosignError } from "../errors.ts";
import type { IdentityMatcher, VerificationPolicy } from "./entity.ts";
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

/**
 * When `pattern` fails to match all of `value` but matches part of it (so cosign, which searches
 * for the pattern anywhere, would accept it): a pattern that matches the whole value and means the
 * same in cosign, `^pattern.*`, `.*pattern$` or `.*pattern.*`. Otherwise undefined.
 */
export function anchoredSuggestion(pattern: string, value: string): string | undefined {
  let found: RegExpExecArray | null;
  try {
    if (wholeValueRegExp(pattern).test(value)) return undefined;
    found = new RegExp(pattern, "u").exec(value);
  } catch {
    return undefined;
  }
  if (found === null) return undefined;
  const body = pattern.includes("|") ? `(?:${pattern})` : pattern;
  const atStart = found.index === 0;
  const atEnd = found.index + found[0].length === value.length;
  const suggestion = `${atStart ? (body.startsWith("^") ? "" : "^") : ".*"}${body}${
    atEnd ? (body.endsWith("$") ? "" : "$") : ".*"
  }`;
  return wholeValueRegExp(suggestion).test(value) ? suggestion : undefined;
}

function matchesValue(found: string | undefined, exact?: string, pattern?: string): boolean {
  // An absent value is the empty string, as in cosign: only a pattern matching "" accepts it.
  const value = found ?? "";
  if (exact !== undefined && (found === undefined || value !== exact)) return false;
  if (pattern !== undefined && !wholeValueRegExp(pattern).test(value)) return false;
  return true;
}

/**
 * What cosign would have made of a failed match: when a regexp failed only because it must
 * match the whole value, say so and give the anchored pattern that matches.
 */
function substringHint(
  matchers: readonly IdentityMatcher[],
  sans: readonly string[],
  identity: CertificateIdentity,
): string {
  const hints: string[] = [];
  for (const m of matchers) {
    const sanOk = sans.some((san) => matchesValue(san, m.subject, m.subjectRegExp));
    const issuerOk = matchesValue(identity.issuer, m.issuer, m.issuerRegExp);
    if (!sanOk && m.subjectRegExp !== undefined && m.subject === undefined) {
      const fixed = sans.map((san) => anchoredSuggestion(m.subjectRegExp!, san)).find((x) => x);
      if (fixed) hints.push(`--certificate-identity-regexp '${fixed}'`);
    }
    if (!issuerOk && m.issuerRegExp !== undefined && m.issuer === undefined) {
      const fixed = anchoredSuggestion(m.issuerRegExp, identity.issuer ?? "");
      if (fixed) hints.push(`--certificate-oidc-issuer-regexp '${fixed}'`);
    }
  }
  if (hints.length === 0) return "";
  return `; cosign would accept it, because its -regexp flags match a substring, but dcosign matches the whole value: to accept it, use ${
    [...new Set(hints)].join(" and ")
  }`;
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
      }" does not match the expected ${wanted}${substringHint(matchers, candidates, identity)}`,
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
