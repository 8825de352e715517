/**
 * The identity a Fulcio certificate carries (cosign-spec.md sections 7.2-7.4): the SAN sigstore-go
 * compares, the OIDC issuer, the GitHub workflow values of the deprecated extensions, and every
 * Fulcio extension by name. Parsing the certificate is `lib/x509/certificate.ts`'s job; matching an identity
 * against a policy is `lib/verify/identity_policy.ts`'s.
 *
 * @module
 */

import type { Certificate } from "./certificate.ts";
import { FULCIO_EXTENSIONS, OID } from "./oids.ts";
import type { GeneralName } from "./names.ts";

/** GitHub workflow values from the deprecated Fulcio extensions .2-.6. */
export interface GithubWorkflow {
  /** The event that triggered the workflow (Fulcio OID 1.3.6.1.4.1.57264.1.2). */
  readonly trigger?: string;
  /** The commit SHA (Fulcio OID .1.3). */
  readonly sha?: string;
  /** The workflow name (Fulcio OID .1.4). */
  readonly name?: string;
  /** The repository, `owner/name` (Fulcio OID .1.5). */
  readonly repository?: string;
  /** The git ref (Fulcio OID .1.6). */
  readonly ref?: string;
}

/** Who a Fulcio certificate was issued to. */
export interface CertificateIdentity {
  /** The SAN sigstore-go compares: first URI, else first email, else the Fulcio otherName. */
  readonly san?: string;
  /** Every SAN entry (the legacy path accepts any of them). */
  readonly sans: readonly GeneralName[];
  /** The OIDC issuer: .8 (UTF8String) when present, else the deprecated .1 (raw). */
  readonly issuer?: string;
  /** The GitHub workflow values of the deprecated Fulcio extensions .2-.6. */
  readonly githubWorkflow: GithubWorkflow;
  /** Every Fulcio extension present, by name (`issuerV2`, `sourceRepositoryUri`, ...). */
  readonly extensions: Readonly<Record<string, string>>;
}

/** The identity of a Fulcio certificate (sigstore-go's SAN order, section 7.4). */
export function certificateIdentity(cert: Certificate): CertificateIdentity {
  const sans = cert.subjectAltNames;
  const san = sans.find((n) => n.type === "uri")?.value ??
    sans.find((n) => n.type === "email")?.value ??
    sans.find((n) => n.type === "otherName" && n.oid === OID.FULCIO_OTHERNAME)?.value;
  const extensions: Record<string, string> = {};
  for (const [oid, value] of Object.entries(cert.fulcio)) {
    extensions[FULCIO_EXTENSIONS[oid]!] = value;
  }
  const issuer = extensions.issuerV2 ?? extensions.issuer;
  const githubWorkflow: Record<string, string> = {};
  const workflow: [keyof GithubWorkflow, string][] = [
    ["trigger", "githubWorkflowTrigger"],
    ["sha", "githubWorkflowSha"],
    ["name", "githubWorkflowName"],
    ["repository", "githubWorkflowRepository"],
    ["ref", "githubWorkflowRef"],
  ];
  for (const [key, name] of workflow) {
    if (extensions[name] !== undefined) githubWorkflow[key] = extensions[name];
  }
  return {
    ...(san !== undefined ? { san } : {}),
    sans,
    ...(issuer !== undefined ? { issuer } : {}),
    githubWorkflow,
    extensions,
  };
}
