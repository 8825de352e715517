/**
 * How the embedded Fulcio turns an OIDC token into a certificate identity: verify the token
 * against a configured issuer, then map its claims to the SAN and the 1.3.6.1.4.1.57264.1.*
 * extensions (cosign-spec.md section 7.2, Fulcio docs/oid-info.md).
 *
 * The issuer is chosen by EXACT equality of the unverified `iss` with a configured issuer URL: no
 * pattern, no prefix or substring (SECURITY.md rows 17-18, rule 8), and its keys come from the
 * configured issuer object in-process; a URL taken from a token is never fetched (rule 9). The
 * token's size and dots are bounded before anything else (row 16). The audience must be
 * `sigstore`; `exp`, `nbf` and `iat` are checked with a small skew; email identities need
 * `email_verified: true`.
 *
 * Identity by claims, as Fulcio's issuer types do:
 * - `job_workflow_ref` (GitHub Actions): SAN URI `<server>/<job_workflow_ref>`, extensions .2-.6
 *   (raw) and .9-.23 (UTF8String) where the claims allow;
 * - `email`: SAN rfc822Name;
 * - otherwise a `sub` that is an absolute URI (SPIFFE, Kubernetes): SAN URI;
 * - otherwise, when the issuer names a subject domain: OtherName `sub!domain` (type-id .7).
 * Every certificate carries the issuer in .1 (raw) and .8 (UTF8String).
 *
 * @module
 */

import type { SanInput } from "./certificate_builder.ts";
import { CosignError } from "../../lib/errors.ts";
import { FULCIO_ARC } from "../../lib/x509/oids.ts";
import {
  type JSONWebKeySet,
  type UnverifiedClaims,
  unverifiedClaims,
  verifyIdToken,
} from "../../lib/keyless/id_token.ts";

/** Error codes raised here (plus the `OIDC_TOKEN_*` codes of `verifyIdToken`). */
export type FulcioIdentityErrorCode = "FULCIO_EMAIL_UNVERIFIED" | "FULCIO_IDENTITY_UNSUPPORTED";

/** An issuer Fulcio trusts: its exact URL and its keys, held in-process. */
export interface TrustedTokenIssuer {
  /** The exact `iss`; `undefined` (not yet listening) matches nothing. */
  readonly issuerUrl: string | undefined;
  /** The issuer's signing keys. */
  jwks(): JSONWebKeySet | Promise<JSONWebKeySet>;
  /** For username tokens (no email, `sub` not a URI): the domain of the `sub!domain` OtherName. */
  readonly subjectDomain?: string;
}

/** Who a certificate is for, derived from a verified token. */
export interface FulcioPrincipal {
  /** The token's `iss`. */
  readonly issuer: string;
  /** What proof of possession must sign: `email` when present, else `sub` (section 7.1). */
  readonly challenge: string;
  /** The one SAN of the certificate. */
  readonly san: SanInput;
  /** Fulcio extensions by OID (1.3.6.1.4.1.57264.1.x), text values. */
  readonly extensions: Readonly<Record<string, string>>;
}

/** Options of `verifyFulcioToken`. */
export interface FulcioTokenOptions {
  /** Verification time (default now). */
  readonly now?: Date;
  /** Allowed clock skew in seconds (default 60). */
  readonly clockSkewSeconds?: number;
  /** Base URL of GitHub-style workflow identities (default `https://github.com`). */
  readonly githubServerUrl?: string;
}

/** The audience Fulcio requires. */
const AUDIENCE = "sigstore";
const fulcioOid = (arc: number) => `${FULCIO_ARC}${arc}`;

/**
 * Verify `token` against the one configured issuer whose URL equals its `iss`, and derive the
 * certificate identity. Untrusted issuers raise `OIDC_TOKEN_ISSUER`; other failures the code of
 * the failed check.
 */
export async function verifyFulcioToken(
  token: string,
  issuers: readonly TrustedTokenIssuer[],
  options: FulcioTokenOptions = {},
): Promise<FulcioPrincipal> {
  // Size and dot count first (row 16), then the exact issuer match (rows 17-18).
  const unverified = unverifiedClaims(token);
  const issuer = issuers.find((candidate) =>
    candidate.issuerUrl !== undefined && candidate.issuerUrl === unverified.issuer
  );
  if (!issuer) {
    throw new CosignError(
      "OIDC_TOKEN_ISSUER",
      `Identity token issuer "${unverified.issuer.slice(0, 100)}" is not trusted by this Fulcio`,
    );
  }
  const claims = await verifyIdToken(token, await issuer.jwks(), {
    issuer: unverified.issuer,
    audience: AUDIENCE,
    ...(options.now ? { now: options.now } : {}),
    ...(options.clockSkewSeconds !== undefined
      ? { clockSkewSeconds: options.clockSkewSeconds }
      : {}),
  });
  return principalFromClaims(claims, {
    githubServerUrl: options.githubServerUrl ?? "https://github.com",
    ...(issuer.subjectDomain !== undefined ? { subjectDomain: issuer.subjectDomain } : {}),
  });
}

/** A claim as a non-empty string, or undefined. */
function text(claims: Readonly<Record<string, unknown>>, name: string): string | undefined {
  const value = claims[name];
  return typeof value === "string" && value !== "" ? value : undefined;
}

/** True for an absolute URI with a scheme and no whitespace (`spiffe://`, `https://`). */
function isUri(value: string): boolean {
  if (!/^[A-Za-z][A-Za-z0-9+.-]*:\/\/\S+$/.test(value)) return false;
  try {
    new URL(value);
    return true;
  } catch {
    return false;
  }
}

/**
 * The certificate identity of verified claims (see the module comment for the rules). Raises
 * `FULCIO_EMAIL_UNVERIFIED` for an unverified email and `FULCIO_IDENTITY_UNSUPPORTED` when no
 * rule applies.
 */
export function principalFromClaims(
  claims: UnverifiedClaims,
  options: { readonly githubServerUrl: string; readonly subjectDomain?: string },
): FulcioPrincipal {
  const extensions: Record<string, string> = {
    [fulcioOid(1)]: claims.issuer,
    [fulcioOid(8)]: claims.issuer,
  };
  const base = { issuer: claims.issuer, challenge: claims.challenge, extensions };
  const raw = claims.claims;
  const jobWorkflowRef = text(raw, "job_workflow_ref");
  if (jobWorkflowRef !== undefined) {
    Object.assign(extensions, githubExtensions(raw, options.githubServerUrl));
    return { ...base, san: { type: "uri", value: `${options.githubServerUrl}/${jobWorkflowRef}` } };
  }
  if (claims.email !== undefined) {
    if (claims.emailVerified !== true) {
      throw new CosignError(
        "FULCIO_EMAIL_UNVERIFIED",
        `The email "${claims.email.slice(0, 100)}" of the identity token is not verified`,
      );
    }
    return { ...base, san: { type: "email", value: claims.email } };
  }
  if (isUri(claims.subject)) return { ...base, san: { type: "uri", value: claims.subject } };
  if (options.subjectDomain !== undefined) {
    return {
      ...base,
      san: { type: "otherName", value: `${claims.subject}!${options.subjectDomain}` },
    };
  }
  throw new CosignError(
    "FULCIO_IDENTITY_UNSUPPORTED",
    "The identity token has no email, workflow or URI subject this Fulcio can certify",
  );
}

/**
 * The GitHub Actions extensions (Fulcio docs/oid-info.md, GitHub column): each only when its
 * claims are present. .2-.6 are the deprecated raw forms; .9-.23 the provider-generic ones.
 */
function githubExtensions(
  raw: Readonly<Record<string, unknown>>,
  server: string,
): Record<string, string> {
  const claim = (name: string) => text(raw, name);
  const url = (...parts: (string | undefined)[]) =>
    parts.every((p) => p !== undefined) ? [server, ...parts].join("") : undefined;
  const repository = claim("repository");
  const runId = claim("run_id");
  const runAttempt = claim("run_attempt");
  const values: [number, string | undefined][] = [
    [2, claim("event_name")],
    [3, claim("sha")],
    [4, claim("workflow")],
    [5, repository],
    [6, claim("ref")],
    [9, url("/", claim("job_workflow_ref"))],
    [10, claim("job_workflow_sha")],
    [11, claim("runner_environment")],
    [12, url("/", repository)],
    [13, claim("sha")],
    [14, claim("ref")],
    [15, claim("repository_id")],
    [16, url("/", claim("repository_owner"))],
    [17, claim("repository_owner_id")],
    [18, url("/", claim("workflow_ref"))],
    [19, claim("workflow_sha")],
    [20, claim("event_name")],
    [21, url("/", repository, "/actions/runs/", runId, "/attempts/", runAttempt)],
    [22, claim("repository_visibility")],
    [23, claim("environment")],
  ];
  const out: Record<string, string> = {};
  for (const [arc, value] of values) if (value !== undefined) out[fulcioOid(arc)] = value;
  return out;
}
