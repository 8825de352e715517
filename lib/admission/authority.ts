/**
 * Authorities compiled for enforcement and checked against an image: a key, a keyless identity
 * or a static verdict, over the library's one verification pipeline
 * (`verifyImageSignatures` / `verifyImageAttestations` with a `VerificationPolicy`), as
 * policy-controller's `checkOptsFromAuthority` and `ValidatePolicy{Signatures,Attestations}
 * ForAuthority` set them up (`pkg/webhook/validator.go`):
 *
 * | authority | transparency log | SCT | timestamps |
 * | --- | --- | --- | --- |
 * | `key` | required with `ctlog`, else skipped | - | required with `rfc3161timestamp` (then no log) |
 * | `keyless` | required (offline, from the trust root) | unless `insecureIgnoreSCT` | same |
 *
 * Trust material comes from the configured trusted root, or the one a `trustRootRef` names;
 * `ca-cert.data` replaces its certificate authorities. Log entries are verified offline against
 * the trust root (cosign attaches their proof); `ctlog.url` is not contacted.
 *
 * Compiling refuses by name what this build cannot enforce (KMS keys, Kubernetes secrets,
 * `tagPrefix`, pull secrets, ConfigMap policies, unknown trust roots): an authority is never
 * weakened into something that passes.
 *
 * @module
 */

import { type Bytes, fromBase64, sha256, toHex, utf8 } from "../util/bytes.ts";
import { encodePem } from "../util/pem.ts";
import { CosignError, errorMessage, isCosignError } from "../errors.ts";
import type { RegistryClient } from "../oci/client.ts";
import {
  formatImageReference,
  type ImageReference,
  parseRepository,
  type RepositoryRef,
} from "../oci/reference.ts";
import type { StorageFormat } from "../sign/image.ts";
import type { TrustedAuthority, TrustedRoot } from "../trust/trusted_root.ts";
import { PublicKey } from "../keys/public_key.ts";
import { parseCertificatesPem } from "../x509/certificate.ts";
import { ANNOTATION } from "../storage/signatures.ts";
import type { IdentityMatcher, VerificationPolicy } from "../verify/entity.ts";
import {
  type VerifiedImageSignature,
  verifyImageAttestations,
  verifyImageSignatures,
} from "../verify/image.ts";
import type { Authority, ClusterImagePolicy, PolicyDocument } from "./policy.ts";
import type { PolicyEngine, PolicyProgram } from "./policy_engine.ts";

/** Error codes raised here. */
export type AdmissionAuthorityErrorCode =
  | "ADMISSION_POLICY_UNSUPPORTED"
  | "ADMISSION_POLICY_FETCH_FAILED";

/** The trust material authorities verify against. */
export interface TrustConfig {
  /** The default trusted root: keyless authorities, and logs and TSAs without `trustRootRef`. */
  readonly trustedRoot?: TrustedRoot;
  /** Trusted roots by name, for `trustRootRef` (policy-controller's TrustRoot resources). */
  readonly trustRoots?: Readonly<Record<string, TrustedRoot>>;
}

/** Options of {@link compilePolicy}. */
export interface CompilePolicyOptions {
  /** The trust material. */
  readonly trust: TrustConfig;
  /** Compiles `attestations[].policy` and `spec.policy`. */
  readonly engine: PolicyEngine;
  /** Fetches `policy.remote` URLs (checked against their `sha256sum`); absent: refused. */
  readonly fetch?: typeof fetch;
}

/** A validated signature, as policy-controller's CIP-level policies see it (`PolicySignature`). */
export interface PolicySignature {
  /** sha256 of the signature bytes and the certificate PEM. */
  readonly id: string;
  /** The certificate's first SAN. */
  readonly subject?: string;
  /** The certificate's OIDC issuer. */
  readonly issuer?: string;
  /** GitHub workflow trigger (OID 1.3.6.1.4.1.57264.1.2). */
  readonly githubWorkflowTrigger?: string;
  /** GitHub workflow commit (OID .1.3). */
  readonly githubWorkflowSha?: string;
  /** GitHub workflow name (OID .1.4). */
  readonly githubWorkflowName?: string;
  /** GitHub repository (OID .1.5). */
  readonly githubWorkflowRepo?: string;
  /** GitHub ref (OID .1.6). */
  readonly githubWorkflowRef?: string;
}

/** A validated attestation (`PolicyAttestation`). */
export interface PolicyAttestation extends PolicySignature {
  /** The attestation's predicate type URI. */
  readonly predicateType: string;
  /** sha256 of the in-toto statement. */
  readonly digest: string;
}

/** What an authority that passed vouched for (`AuthorityMatch`). */
export interface AuthorityMatch {
  /** The signatures that verified (an authority without attestations). */
  readonly signatures?: readonly PolicySignature[];
  /** The attestations that verified and passed their policy, by attestation name. */
  readonly attestations?: Readonly<Record<string, readonly PolicyAttestation[]>>;
  /** Set for a `static: pass` authority. */
  readonly static?: boolean;
}

/** The outcome of one authority on one image. */
export type AuthorityOutcome =
  | { readonly ok: true; readonly match: AuthorityMatch }
  | {
    readonly ok: false;
    readonly error: string;
    /** The check could not run to the end (timeout, registry down): not a policy verdict. */
    readonly undecided?: boolean;
  };

/** An attestation requirement ready to check. */
export interface CompiledAttestation {
  /** The attestation's name. */
  readonly name: string;
  /** The predicate type URI required. */
  readonly predicateType: string;
  /** Its policy program, if any. */
  readonly program?: PolicyProgram;
}

/** An authority ready to check. */
export interface CompiledAuthority {
  /** The authority's name. */
  readonly name: string;
  /** What kind of authority it is. */
  readonly kind: "key" | "keyless" | "static";
  /** The static verdict. */
  readonly static?: { readonly action: "pass" | "fail"; readonly message?: string };
  /** What signatures must satisfy (`now` is set per check). */
  readonly verification?: Omit<VerificationPolicy, "now">;
  /** The storage formats read. */
  readonly formats: readonly StorageFormat[];
  /** Where signatures are read from instead of the image's repository. */
  readonly targetRepository?: RepositoryRef;
  /** The attestations required. */
  readonly attestations: readonly CompiledAttestation[];
}

/** A policy ready to enforce. */
export interface CompiledPolicy {
  /** The validated policy. */
  readonly policy: ClusterImagePolicy;
  /** Its authorities, ready to check. */
  readonly authorities: readonly CompiledAuthority[];
  /** The spec-level policy program. */
  readonly program?: PolicyProgram;
}

/** Most bytes of a remote policy read. */
const MAX_REMOTE_POLICY = 1 << 20;

class Unsupported {
  readonly problems: string[] = [];
  add(path: string, problem: string): void {
    this.problems.push(`${path}: ${problem}`);
  }
}

function selfSigned(cert: { issuer: unknown; subject: unknown }): boolean {
  return JSON.stringify(cert.issuer) === JSON.stringify(cert.subject);
}

/** The trusted root with its certificate authorities replaced by `ca-cert.data`'s chain. */
function withCaCert(base: TrustedRoot | undefined, pem: string): TrustedRoot {
  const certs = parseCertificatesPem(pem);
  // Leaf-most first, the anchor (self-signed) last, as TrustedAuthority keeps them.
  const ordered = [...certs.filter((c) => !selfSigned(c)), ...certs.filter(selfSigned)];
  const authority: TrustedAuthority = {
    subject: {},
    uri: "",
    certificates: ordered.map((c) => c.raw),
    validFor: { start: new Date(0) },
  };
  return {
    mediaType: base?.mediaType ?? "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
    tlogs: base?.tlogs ?? [],
    ctlogs: base?.ctlogs ?? [],
    certificateAuthorities: [authority],
    timestampAuthorities: base?.timestampAuthorities ?? [],
  };
}

function resolveRoot(
  ref: string | undefined,
  path: string,
  trust: TrustConfig,
  unsupported: Unsupported,
): TrustedRoot | undefined {
  if (ref === undefined) return trust.trustedRoot;
  const root = trust.trustRoots && Object.hasOwn(trust.trustRoots, ref)
    ? trust.trustRoots[ref]
    : undefined;
  if (!root) {
    unsupported.add(path, `trust root "${ref}" is not configured (--trust-root ${ref}=FILE)`);
  }
  return root;
}

function compileAuthority(
  authority: Authority,
  path: string,
  context: { options: CompilePolicyOptions; remotes: RemoteSources; unsupported: Unsupported },
): CompiledAuthority {
  const { options: { trust }, unsupported } = context;
  const base = { name: authority.name, attestations: [] as CompiledAttestation[] };
  const formats: StorageFormat[] = authority.signatureFormat
    ? [authority.signatureFormat]
    : ["legacy", "bundle"];
  if (authority.static) {
    return { ...base, kind: "static", static: authority.static, formats };
  }
  const [source] = authority.sources;
  let targetRepository: RepositoryRef | undefined;
  if (source?.oci !== undefined) {
    try {
      targetRepository = parseRepository(source.oci);
    } catch (error) {
      unsupported.add(`${path}.source[0].oci`, `not a repository: ${errorMessage(error)}`);
    }
  }
  if (source?.tagPrefix !== undefined) {
    unsupported.add(`${path}.source[0].tagPrefix`, "signature tag prefixes are not supported yet");
  }
  if (source && source.signaturePullSecrets.length > 0) {
    unsupported.add(
      `${path}.source[0].signaturePullSecrets`,
      "pull secrets are not supported yet (configure registry credentials on the server)",
    );
  }
  const timestamps = authority.rfc3161timestamp !== undefined;
  const tsaRoot = timestamps
    ? resolveRoot(
      authority.rfc3161timestamp?.trustRootRef,
      `${path}.rfc3161timestamp.trustRootRef`,
      trust,
      unsupported,
    )
    : undefined;
  const logRoot = authority.ctlog
    ? resolveRoot(authority.ctlog.trustRootRef, `${path}.ctlog.trustRootRef`, trust, unsupported)
    : undefined;
  let verification: Omit<VerificationPolicy, "now"> | undefined;
  let kind: "key" | "keyless";
  if (authority.key) {
    kind = "key";
    const { key } = authority;
    if (key.kms !== undefined) unsupported.add(`${path}.key.kms`, "KMS keys are not supported yet");
    if (key.secretRef !== undefined) {
      unsupported.add(
        `${path}.key.secretRef`,
        "keys from Kubernetes secrets are not supported yet",
      );
    }
    if (key.hashAlgorithm === "sha224") {
      unsupported.add(`${path}.key.hashAlgorithm`, "sha224 signatures are not supported");
    }
    // As policy-controller: without `ctlog` a key authority does not look at a log; with
    // `rfc3161timestamp`, signed timestamps replace it.
    const tlogThreshold = timestamps ? 0 : authority.ctlog ? 1 : 0;
    const trustedRoot = timestamps ? tsaRoot : logRoot;
    if ((tlogThreshold > 0 || timestamps) && !trustedRoot) {
      unsupported.add(
        timestamps ? `${path}.rfc3161timestamp` : `${path}.ctlog`,
        "needs a trusted root (--trusted-root)",
      );
    }
    verification = key.data === undefined || key.hashAlgorithm === "sha224" ? undefined : {
      key: PublicKey.fromPem(key.data),
      keyHash: key.hashAlgorithm,
      ...(trustedRoot ? { trustedRoot } : {}),
      tlogThreshold,
      ctlogThreshold: 0,
      timestampThreshold: timestamps ? 1 : 0,
    };
  } else {
    kind = "keyless";
    const keyless = authority.keyless!;
    let root = resolveRoot(
      keyless.trustRootRef,
      `${path}.keyless.trustRootRef`,
      trust,
      unsupported,
    );
    if (keyless.caCert?.kms !== undefined) {
      unsupported.add(
        `${path}.keyless.ca-cert.kms`,
        "KMS certificate authorities are not supported yet",
      );
    }
    if (keyless.caCert?.secretRef !== undefined) {
      unsupported.add(
        `${path}.keyless.ca-cert.secretRef`,
        "certificate authorities from Kubernetes secrets are not supported yet",
      );
    }
    if (keyless.caCert?.data !== undefined) root = withCaCert(root, keyless.caCert.data);
    if (!root) {
      unsupported.add(`${path}.keyless`, "needs a trusted root (--trusted-root)");
    } else {
      // A log or TSA from another trust root: its keys join the CA's root.
      if (logRoot && logRoot !== root) root = { ...root, tlogs: logRoot.tlogs };
      if (tsaRoot && tsaRoot !== root) {
        root = { ...root, timestampAuthorities: tsaRoot.timestampAuthorities };
      }
      const identities: IdentityMatcher[] = keyless.identities.map((identity) => ({ ...identity }));
      verification = {
        trustedRoot: root,
        identities,
        tlogThreshold: timestamps ? 0 : 1,
        ctlogThreshold: keyless.insecureIgnoreSCT ? 0 : 1,
        timestampThreshold: timestamps ? 1 : 0,
      };
    }
  }
  const attestations = authority.attestations.map((attestation, index): CompiledAttestation => {
    const program = attestation.policy
      ? compileProgram(
        attestation.name,
        attestation.policy,
        `${path}.attestations[${index}].policy`,
        context,
      )
      : undefined;
    return {
      name: attestation.name,
      predicateType: attestation.predicateTypeUri,
      ...(program ? { program } : {}),
    };
  });
  return {
    ...base,
    kind,
    ...(verification ? { verification } : {}),
    formats,
    ...(targetRepository ? { targetRepository } : {}),
    attestations,
  };
}

/** Remote policy texts, fetched before compiling, by the document naming them. */
type RemoteSources = ReadonlyMap<PolicyDocument, string>;

function compileProgram(
  name: string,
  document: PolicyDocument,
  path: string,
  context: { options: CompilePolicyOptions; remotes: RemoteSources; unsupported: Unsupported },
): PolicyProgram | undefined {
  const { options, remotes, unsupported } = context;
  if (document.configMapRef) {
    unsupported.add(
      `${path}.configMapRef`,
      "policies from ConfigMaps are not supported yet (inline them as data)",
    );
    return undefined;
  }
  if (document.remote) {
    const source = remotes.get(document);
    if (source === undefined) {
      unsupported.add(
        `${path}.remote`,
        "remote policies are not fetched here (inline them as data)",
      );
      return undefined;
    }
    return options.engine.compile(name, document.type, source);
  }
  return options.engine.compile(name, document.type, document.data ?? "");
}

async function fetchRemotePolicy(url: string, sha256sum: string, fetcher: typeof fetch) {
  let response: Response;
  try {
    response = await fetcher(url, { redirect: "error", signal: AbortSignal.timeout(10_000) });
  } catch (error) {
    throw new CosignError(
      "ADMISSION_POLICY_FETCH_FAILED",
      `Cannot fetch the policy at "${url}": ${errorMessage(error)}`,
      {
        cause: error,
      },
    );
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new CosignError(
      "ADMISSION_POLICY_FETCH_FAILED",
      `Cannot fetch the policy at "${url}": HTTP ${response.status}`,
    );
  }
  const length = Number(response.headers.get("content-length") ?? "0");
  if (length > MAX_REMOTE_POLICY) {
    await response.body?.cancel();
    throw new CosignError(
      "ADMISSION_POLICY_FETCH_FAILED",
      `The policy at "${url}" is larger than ${MAX_REMOTE_POLICY} bytes`,
    );
  }
  const bytes = new Uint8Array(await response.arrayBuffer());
  if (bytes.length > MAX_REMOTE_POLICY) {
    throw new CosignError(
      "ADMISSION_POLICY_FETCH_FAILED",
      `The policy at "${url}" is larger than ${MAX_REMOTE_POLICY} bytes`,
    );
  }
  const digest = toHex(sha256(bytes));
  if (digest !== sha256sum) {
    throw new CosignError(
      "ADMISSION_POLICY_FETCH_FAILED",
      `The policy at "${url}" has sha256 ${digest}, not the sha256sum ${sha256sum} the policy names`,
    );
  }
  return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
}

/**
 * Compile a validated policy for enforcement: parse keys, resolve trust roots, compile policy
 * programs (fetching remote ones). Anything this build cannot enforce raises
 * `ADMISSION_POLICY_UNSUPPORTED` listing each field and why.
 *
 * @example Compile a key policy; a KMS key is refused by name
 * ```ts
 * import assert from "node:assert/strict";
 * import { compilePolicy, defaultPolicyEngine, generateKeyPair, parseClusterImagePolicy } from "@dcosign/dcosign";
 *
 * const key = await generateKeyPair();
 * const document = (key: Record<string, string>) => ({
 *   apiVersion: "policy.sigstore.dev/v1beta1",
 *   kind: "ClusterImagePolicy",
 *   metadata: { name: "release-key" },
 *   spec: { images: [{ glob: "**" }], authorities: [{ key }] },
 * });
 * const policy = parseClusterImagePolicy(document({ data: key.publicKey.toPem() }));
 * const compiled = await compilePolicy(policy, { trust: {}, engine: defaultPolicyEngine() });
 * assert.equal(compiled.authorities[0]?.kind, "key");
 * assert.equal(compiled.authorities[0]?.verification?.tlogThreshold, 0); // no `ctlog`: no log
 *
 * const kms = parseClusterImagePolicy(document({ kms: "hashivault://transit/app" }));
 * await assert.rejects(
 *   compilePolicy(kms, { trust: {}, engine: defaultPolicyEngine() }),
 *   /spec\.authorities\[0\]\.key\.kms: KMS keys are not supported yet/,
 * );
 * ```
 */
export async function compilePolicy(
  policy: ClusterImagePolicy,
  options: CompilePolicyOptions,
): Promise<CompiledPolicy> {
  const unsupported = new Unsupported();
  const documents = [
    policy.policy,
    ...policy.authorities.flatMap((a) => a.attestations.map((t) => t.policy)),
  ].filter((d): d is PolicyDocument => d?.remote !== undefined);
  const remotes = new Map<PolicyDocument, string>();
  if (options.fetch) {
    const fetcher = options.fetch;
    await Promise.all(documents.map(async (document) => {
      remotes.set(
        document,
        await fetchRemotePolicy(document.remote!.url, document.remote!.sha256sum, fetcher),
      );
    }));
  }
  const context = { options, remotes, unsupported };
  const authorities = policy.authorities.map((authority, index) =>
    compileAuthority(authority, `spec.authorities[${index}]`, context)
  );
  const program = policy.policy
    ? compileProgram("ClusterImagePolicy", policy.policy, "spec.policy", context)
    : undefined;
  if (unsupported.problems.length > 0) {
    throw new CosignError(
      "ADMISSION_POLICY_UNSUPPORTED",
      `ClusterImagePolicy "${policy.name}" in "${policy.origin}" cannot be enforced: ${
        unsupported.problems.join("; ")
      }`,
    );
  }
  return { policy, authorities, ...(program ? { program } : {}) };
}

/**
 * A policy that denies every image it matches, with `reason`: what a policy that cannot be
 * enforced becomes when it is loaded while serving (from the cluster), so that it fails closed
 * instead of being left out.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseClusterImagePolicy, refusingPolicy } from "@dcosign/dcosign";
 *
 * const policy = parseClusterImagePolicy({
 *   apiVersion: "policy.sigstore.dev/v1beta1",
 *   kind: "ClusterImagePolicy",
 *   metadata: { name: "kms" },
 *   spec: { images: [{ glob: "**" }], authorities: [{ key: { kms: "gcpkms://projects/p/keys/k" } }] },
 * });
 * const refusing = refusingPolicy(policy, "KMS keys are not supported yet");
 * assert.equal(refusing.authorities[0]?.static?.action, "fail");
 * ```
 */
export function refusingPolicy(policy: ClusterImagePolicy, reason: string): CompiledPolicy {
  return {
    policy,
    authorities: [{
      name: "unenforceable",
      kind: "static",
      static: { action: "fail", message: `the policy cannot be enforced: ${reason}` },
      formats: [],
      attestations: [],
    }],
  };
}

function signatureId(signature: VerifiedImageSignature): string {
  let sig: Uint8Array | undefined = signature.envelope?.signatures[0]?.sig;
  const annotation = signature.layerAnnotations?.[ANNOTATION.SIGNATURE];
  if (!sig && annotation !== undefined) {
    try {
      sig = fromBase64(annotation);
    } catch {
      sig = utf8(annotation);
    }
  }
  const parts: Uint8Array[] = [sig ?? signature.bundle ?? signature.payload];
  const leaf = signature.result.certificate?.leaf;
  if (leaf) parts.push(utf8(encodePem("CERTIFICATE", leaf.raw)));
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    all.set(part, offset);
    offset += part.length;
  }
  return toHex(sha256(all));
}

/** A verified signature in policy-controller's `PolicySignature` shape. */
export function policySignature(signature: VerifiedImageSignature): PolicySignature {
  const identity = signature.result.certificate?.identity;
  const id = signatureId(signature);
  if (!identity) return { id };
  const github = identity.githubWorkflow;
  const subject = identity.sans[0]?.value;
  return {
    id,
    ...(subject !== undefined ? { subject } : {}),
    ...(identity.issuer !== undefined ? { issuer: identity.issuer } : {}),
    ...(github.trigger !== undefined ? { githubWorkflowTrigger: github.trigger } : {}),
    ...(github.sha !== undefined ? { githubWorkflowSha: github.sha } : {}),
    ...(github.name !== undefined ? { githubWorkflowName: github.name } : {}),
    ...(github.repository !== undefined ? { githubWorkflowRepo: github.repository } : {}),
    ...(github.ref !== undefined ? { githubWorkflowRef: github.ref } : {}),
  };
}

/** Error codes that mean the check could not finish, rather than that it failed. */
const UNDECIDED_CODES = new Set([
  "ADMISSION_TIMEOUT",
  "OCI_NETWORK_ERROR",
  "OCI_REGISTRY_ERROR",
  "OCI_UNAUTHORIZED",
  "OCI_AUTH_FAILED",
]);

/** Whether an error leaves the check undecided (fail-open or fail-closed applies). */
export function isUndecided(error: unknown): boolean {
  if (error instanceof DOMException) return true; // an abort or timeout
  if (!(error instanceof CosignError)) return true; // a crash is never a verdict
  return UNDECIDED_CODES.has(error.code);
}

/** policy-controller's words for why verification failed, then ours. */
function reason(error: unknown): string {
  if (isCosignError(error, "VERIFY_NO_SIGNATURES")) return `no signatures found: ${error.message}`;
  if (isCosignError(error, "VERIFY_NO_ATTESTATIONS")) {
    return `no matching attestations: ${error.message}`;
  }
  if (isCosignError(error, "VERIFY_NO_MATCHING_SIGNATURE")) {
    const causes = error.cause instanceof AggregateError ? error.cause.errors : [];
    if (causes.length > 0 && causes.every((c) => isCosignError(c, "VERIFY_IDENTITY_MISMATCH"))) {
      return `none of the expected identities matched what was in the certificate: ${error.message}`;
    }
    return `no matching signatures: ${error.message}`;
  }
  return errorMessage(error);
}

/** What checking an authority needs. */
export interface CheckContext {
  /** The registry client. */
  readonly client: RegistryClient;
  /** The time the certificates are checked at (and `now` of the policy). */
  readonly now: Date;
}

function verifyOptions(authority: CompiledAuthority, context: CheckContext) {
  return {
    client: context.client,
    policy: { ...authority.verification!, now: context.now },
    formats: authority.formats,
    checkClaims: true,
    ...(authority.targetRepository ? { targetRepository: authority.targetRepository } : {}),
  };
}

function failed(error: unknown, what: string, authority: CompiledAuthority, image: string) {
  return {
    ok: false as const,
    error:
      `${what} ${authority.kind} validation failed for authority ${authority.name} for ${image}: ${
        reason(error)
      }`,
    ...(isUndecided(error) ? { undecided: true } : {}),
  };
}

/**
 * Check one authority against an image given by digest. A static authority passes or fails
 * as it says; one without attestations needs a verified signature; one with attestations needs,
 * for each attestation it lists, a verified attestation of that predicate type that its policy
 * (if any) accepts.
 *
 * @example A key authority on an image signed with that key, in the embedded stack
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   checkAuthority,
 *   compilePolicy,
 *   defaultPolicyEngine,
 *   generateKeyPair,
 *   parseClusterImagePolicy,
 *   parseImageReference,
 *   RegistryClient,
 *   sign,
 * } from "@dcosign/dcosign";
 * import { startStack } from "@dcosign/dcosign/server";
 * import { buildExampleImage } from "../oci/example_image.ts";
 *
 * await using stack = await startStack();
 * const client = new RegistryClient();
 * const pushed = await buildExampleImage(client, `${stack.registryHost}/docs/checked`);
 * const image = `${stack.registryHost}/docs/checked@${pushed.digest}`;
 * const key = await generateKeyPair();
 * await sign(image, { signer: key, registry: client });
 * const policy = parseClusterImagePolicy({
 *   apiVersion: "policy.sigstore.dev/v1beta1",
 *   kind: "ClusterImagePolicy",
 *   metadata: { name: "release-key" },
 *   spec: { images: [{ glob: "**" }], authorities: [{ key: { data: key.publicKey.toPem() } }] },
 * });
 * const { authorities } = await compilePolicy(policy, { trust: {}, engine: defaultPolicyEngine() });
 * const outcome = await checkAuthority(authorities[0]!, parseImageReference(image), {
 *   client,
 *   now: new Date(),
 * });
 * assert.equal(outcome.ok, true);
 * ```
 */
export async function checkAuthority(
  authority: CompiledAuthority,
  image: ImageReference,
  context: CheckContext,
): Promise<AuthorityOutcome> {
  if (authority.static) {
    return authority.static.action === "pass"
      ? { ok: true, match: { static: true } }
      : { ok: false, error: `disallowed by static policy: ${authority.static.message ?? ""}` };
  }
  const name = formatImageReference(image);
  if (authority.attestations.length === 0) {
    try {
      const verified = await verifyImageSignatures(image, verifyOptions(authority, context));
      return { ok: true, match: { signatures: verified.signatures.map(policySignature) } };
    } catch (error) {
      return failed(error, "signature", authority, name);
    }
  }
  const attestations: Record<string, PolicyAttestation[]> = {};
  const byType = new Map<string, Promise<readonly VerifiedImageSignature[]>>();
  for (const wanted of authority.attestations) {
    let verifying = byType.get(wanted.predicateType);
    if (!verifying) {
      verifying = verifyImageAttestations(image, {
        ...verifyOptions(authority, context),
        predicateType: wanted.predicateType,
      }).then((v) => v.signatures);
      byType.set(wanted.predicateType, verifying);
    }
    let verified: readonly VerifiedImageSignature[];
    try {
      verified = await verifying;
    } catch (error) {
      if (isCosignError(error, "VERIFY_NO_MATCHING_ATTESTATION")) {
        return {
          ok: false,
          error:
            `no matching attestations with type ${wanted.predicateType} for authority ${authority.name} for ${name}: ${error.message}`,
        };
      }
      return failed(error, "attestation", authority, name);
    }
    const passed: PolicyAttestation[] = [];
    let firstError: string | undefined;
    for (const signature of verified) {
      let statement: unknown;
      try {
        statement = JSON.parse(new TextDecoder().decode(signature.envelope!.payload));
      } catch (error) {
        firstError ??= `the attestation payload is not JSON: ${errorMessage(error)}`;
        continue;
      }
      if (wanted.program) {
        const verdict = await wanted.program.evaluate(statement);
        if (!verdict.pass) {
          firstError ??= verdict.error;
          continue;
        }
      }
      passed.push({
        ...policySignature(signature),
        predicateType: wanted.predicateType,
        digest: `sha256:${toHex(sha256(signature.envelope!.payload as Bytes))}`,
      });
    }
    if (passed.length === 0) {
      return {
        ok: false,
        error: firstError ??
          `no matching attestations with type ${wanted.predicateType} for authority ${authority.name} for ${name}`,
      };
    }
    attestations[wanted.name] = passed;
  }
  return { ok: true, match: { attestations } };
}
