/**
 * The identities the embedded OIDC issuer can log in as, and the claims each token carries.
 *
 * Three kinds: an email (`email` + `email_verified: true`, as Google or Dex tokens), a URI
 * subject (SPIFFE- or Kubernetes-style `sub`, no email), and a GitHub Actions workflow whose
 * claims follow the real GitHub token (`job_workflow_ref`, `repository`, `event_name`, `sha`,
 * `ref`, `workflow`, `runner_environment`, ...), the ones Fulcio maps to its extensions
 * (Fulcio docs/oid-info.md, "Mapping OIDC token claims to Fulcio OIDs"). Each identity has one
 * text name, which is also the SAN Fulcio certifies: the email, the URI, or
 * `https://github.com/<job_workflow_ref>`.
 *
 * @module
 */

import { sha256, toHex, utf8 } from "../../lib/util/bytes.ts";

/** A GitHub Actions workflow identity. Omitted values get stable defaults derived from it. */
export interface GithubWorkflowIdentity {
  /** The identity kind. */
  readonly kind: "github-workflow";
  /** `owner/repo`. */
  readonly repository: string;
  /** `.github/workflows/release.yml`. */
  readonly workflowPath: string;
  /** `refs/heads/main`, `refs/tags/v1.0.0`, ... */
  readonly ref: string;
  /** Commit SHA (default: 40 hex digits derived from the identity). */
  readonly sha?: string;
  /** `event_name` (default `push`). */
  readonly eventName?: string;
  /** `workflow`, the workflow's display name (default the file name without extension). */
  readonly workflow?: string;
  /** `runner_environment` (default `github-hosted`). */
  readonly runnerEnvironment?: string;
  /** `repository_visibility` (default `public`). */
  readonly repositoryVisibility?: string;
  /** `environment` (deployment environment), when the job has one. */
  readonly environment?: string;
  /** `run_id` (default `1`). */
  readonly runId?: string;
  /** `run_attempt` (default `1`). */
  readonly runAttempt?: string;
  /** The GitHub server (default `https://github.com`). */
  readonly serverUrl?: string;
}

/** An identity the issuer can log in as. */
export type IssuerIdentity =
  | { readonly kind: "email"; readonly email: string }
  | { readonly kind: "uri"; readonly uri: string }
  | GithubWorkflowIdentity;

/** The identity `dcosign serve` logs in as when none is configured. */
export const DEFAULT_IDENTITY_EMAIL = "signer@dcosign.test";

const EMAIL = /^[^\s@<>()[\]\\,;:"]{1,64}@[A-Za-z0-9.-]{1,253}$/;
const WORKFLOW_NAME =
  /^(https:\/\/[^/\s]+)\/([A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+)\/(\.github\/workflows\/[^@\s]+)@(refs\/\S+)$/;
const MAX_IDENTITY_LENGTH = 1024;

/**
 * Parse an identity from its text name: an email; a GitHub workflow
 * `https://github.com/<owner>/<repo>/.github/workflows/<file>@<ref>`; or any other absolute URI
 * (`spiffe://...`, `https://...`). Anything else throws `TypeError`.
 */
export function parseIssuerIdentity(text: string): IssuerIdentity {
  if (text.length === 0 || text.length > MAX_IDENTITY_LENGTH) {
    throw new TypeError(`Invalid identity "${text.slice(0, 60)}": empty or too long`);
  }
  if (!text.includes("://")) {
    if (EMAIL.test(text)) return { kind: "email", email: text };
    throw new TypeError(`Invalid identity "${text}": expected an email or a URI`);
  }
  const workflow = WORKFLOW_NAME.exec(text);
  if (workflow) {
    const [, serverUrl, repository, workflowPath, ref] = workflow as unknown as [
      string,
      string,
      string,
      string,
      string,
    ];
    return {
      kind: "github-workflow",
      repository,
      workflowPath,
      ref,
      ...(serverUrl !== "https://github.com" ? { serverUrl } : {}),
    };
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch (cause) {
    throw new TypeError(`Invalid identity "${text}": not a URI`, { cause });
  }
  if (/\s/.test(text) || url.protocol === "javascript:") {
    throw new TypeError(`Invalid identity "${text}": not a URI`);
  }
  return { kind: "uri", uri: text };
}

/** The text name of an identity: the SAN Fulcio puts in the certificate. */
export function identityName(identity: IssuerIdentity): string {
  switch (identity.kind) {
    case "email":
      return identity.email;
    case "uri":
      return identity.uri;
    case "github-workflow":
      return `${identity.serverUrl ?? "https://github.com"}/${jobWorkflowRef(identity)}`;
  }
}

function jobWorkflowRef(identity: GithubWorkflowIdentity): string {
  return `${identity.repository}/${identity.workflowPath}@${identity.ref}`;
}

/** A stable decimal ID or hex digest derived from a name, for claims the user did not give. */
function derived(name: string, what: string, hexDigits: number): string {
  return toHex(sha256(utf8(`${what}\n${name}`))).slice(0, hexDigits);
}

function derivedId(name: string, what: string): string {
  return String(Number.parseInt(derived(name, what, 8), 16) % 900_000_000 + 100_000_000);
}

/**
 * The identity claims of a token for `identity` (without `iss`, `aud` and the times). Emails get
 * `sub` = the email; GitHub workflows get GitHub's `repo:<owner>/<repo>:ref:<ref>` subject.
 */
export function identityClaims(identity: IssuerIdentity): Record<string, unknown> {
  switch (identity.kind) {
    case "email":
      return { sub: identity.email, email: identity.email, email_verified: true };
    case "uri":
      return { sub: identity.uri };
    case "github-workflow": {
      const name = identityName(identity);
      const owner = identity.repository.split("/")[0]!;
      const sha = identity.sha ?? derived(name, "sha", 40);
      const workflowRef = jobWorkflowRef(identity);
      const file = identity.workflowPath.split("/").at(-1)!;
      return {
        sub: `repo:${identity.repository}:ref:${identity.ref}`,
        ref: identity.ref,
        ref_type: identity.ref.startsWith("refs/tags/") ? "tag" : "branch",
        sha,
        repository: identity.repository,
        repository_id: derivedId(identity.repository, "repository_id"),
        repository_owner: owner,
        repository_owner_id: derivedId(owner, "repository_owner_id"),
        repository_visibility: identity.repositoryVisibility ?? "public",
        actor: owner,
        actor_id: derivedId(owner, "actor_id"),
        run_id: identity.runId ?? "1",
        run_number: "1",
        run_attempt: identity.runAttempt ?? "1",
        runner_environment: identity.runnerEnvironment ?? "github-hosted",
        workflow: identity.workflow ?? file.replace(/\.ya?ml$/, ""),
        workflow_ref: workflowRef,
        workflow_sha: sha,
        job_workflow_ref: workflowRef,
        job_workflow_sha: sha,
        event_name: identity.eventName ?? "push",
        head_ref: "",
        base_ref: "",
        ...(identity.environment !== undefined ? { environment: identity.environment } : {}),
      };
    }
  }
}
