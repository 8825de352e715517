/**
 * ClusterImagePolicy (`policy.sigstore.dev/v1alpha1` and `v1beta1`): the model, strict parsing
 * and validation as policy-controller's webhook applies them (`pkg/apis/policy/v1beta1/
 * clusterimagepolicy_validation.go`, defaults from `clusterimagepolicy_defaults.go`).
 *
 * Parsing is strict where a typo would silently weaken a policy: an unknown field is refused
 * (`must not set the field(s): spec.autorities`), as is a value of the wrong type. Problems are
 * reported all at once in knative's words, each naming the field, and the error names the file
 * (`lib/admission/field_errors.ts`). Defaults are applied first, as the defaulting webhook does:
 * `mode: enforce`, authorities named `authority-<index>`, and a keyless authority without `url` or
 * `ca-cert` gets the public Fulcio's URL.
 *
 * Validation accepts everything policy-controller accepts, including references this build
 * cannot use yet (KMS keys, Kubernetes secrets, ConfigMap policies): compiling a policy for
 * enforcement (`lib/admission/authority.ts`) refuses those by name, so nothing unsupported is
 * ever skipped quietly.
 *
 * @module
 */

import { sha256Digest, utf8 } from "../util/bytes.ts";
import { CosignError, errorMessage } from "../errors.ts";
import { isRecord } from "../util/json.ts";
import { PublicKey } from "../keys/public_key.ts";
import { parseCertificatesPem } from "../x509/certificate.ts";
import { parseRegistry, parseRepository } from "../oci/reference.ts";
import { wholeValueRegExp } from "../verify/identity_policy.ts";
import { PREDICATE_TYPES } from "../payload/predicate.ts";
import { parseYamlDocuments } from "../util/yaml.ts";
import { compileImageGlob } from "./glob.ts";
import { type LabelSelector, parseLabelSelector } from "./labels.ts";
import {
  asWarning,
  disallowedFields,
  FieldErrors,
  type FieldProblem,
  formatProblems,
  indexPath,
  invalidValue,
  joinPath,
  missingField,
  missingOneOf,
  multipleOneOf,
  schemaInvalid,
} from "./field_errors.ts";

/** Error codes raised here. */
export type AdmissionPolicyErrorCode = "ADMISSION_POLICY_INVALID";

/** The API group and versions read. */
export const POLICY_API_VERSIONS = [
  "policy.sigstore.dev/v1alpha1",
  "policy.sigstore.dev/v1beta1",
] as const;

/** One of {@link POLICY_API_VERSIONS}. */
/** One of the API versions read. */
export type PolicyApiVersion = (typeof POLICY_API_VERSIONS)[number];

/** Hash algorithms a key authority may name (policy-controller `signaturealgo`). */
export type KeyHashAlgorithm = "sha224" | "sha256" | "sha384" | "sha512";

/** A Kubernetes secret named by a policy. */
export interface SecretRef {
  /** The secret's name. */
  readonly name: string;
  /** Its namespace (default: the webhook's). */
  readonly namespace?: string;
}

/** `authorities[].key`: exactly one of `data`, `kms`, `secretRef`. */
export interface KeyRef {
  /** An inline PEM public key (checked to parse). */
  readonly data?: string;
  /** A KMS URI (`awskms://`, `gcpkms://`, `azurekms://`, `hashivault://`). */
  readonly kms?: string;
  /** A Kubernetes secret holding the key. */
  readonly secretRef?: SecretRef;
  /** Default `sha256`. */
  readonly hashAlgorithm: KeyHashAlgorithm;
}

/** `keyless.ca-cert`: the CA that issued the signing certificates, instead of the trust root's. */
export interface CaCertRef {
  /** Inline PEM certificates (checked to parse). */
  readonly data?: string;
  /** A KMS URI of the CA key. */
  readonly kms?: string;
  /** A Kubernetes secret holding the CA. */
  readonly secretRef?: SecretRef;
}

/** One acceptable keyless identity: exact values or whole-value regular expressions. */
export interface PolicyIdentity {
  /** The exact OIDC issuer. */
  readonly issuer?: string;
  /** A whole-value regular expression the issuer must match. */
  readonly issuerRegExp?: string;
  /** The exact certificate subject (SAN). */
  readonly subject?: string;
  /** A whole-value regular expression the subject must match. */
  readonly subjectRegExp?: string;
}

/** `authorities[].keyless`. */
export interface KeylessRef {
  /** The Fulcio URL (informational: trust comes from the trust root). */
  readonly url?: string;
  /** The CA that issued the signing certificates (`ca-cert`). */
  readonly caCert?: CaCertRef;
  /** At least one. */
  readonly identities: readonly PolicyIdentity[];
  /** A named trust root (TrustRoot CR, here a configured trusted root). */
  readonly trustRootRef?: string;
  /** Do not require an SCT in the certificate. */
  readonly insecureIgnoreSCT: boolean;
}

/** `authorities[].static`. */
export interface StaticRef {
  /** `pass` admits, `fail` denies. */
  readonly action: "pass" | "fail";
  /** The denial's message. */
  readonly message?: string;
}

/** `authorities[].source[]`: where signatures are read from. */
export interface SignatureSource {
  /** A repository (`registry/path`) holding the signatures instead of the image's own. */
  readonly oci?: string;
  /** A prefix of the signature tags (not supported yet: refused when compiled). */
  readonly tagPrefix?: string;
  /** Pull secrets for the signatures (not supported yet: refused when compiled). */
  readonly signaturePullSecrets: readonly string[];
}

/** `authorities[].ctlog`: the transparency log (Rekor) the signatures must be logged in. */
export interface TlogRef {
  /** The Rekor URL (informational: entries are verified offline). */
  readonly url?: string;
  /** A named trust root for the log's keys. */
  readonly trustRootRef?: string;
}

/** `authorities[].rfc3161timestamp`: timestamps from this trust root's TSAs are required. */
export interface TimestampRef {
  /** A named trust root for the TSAs. */
  readonly trustRootRef?: string;
}

/** A policy program: CUE or Rego, inline, in a ConfigMap or at a URL. */
export interface PolicyDocument {
  /** The language. */
  readonly type: "cue" | "rego";
  /** The program, inline. */
  readonly data?: string;
  /** A ConfigMap key holding the program (not supported yet: refused when compiled). */
  readonly configMapRef?: {
    readonly name: string;
    readonly key: string;
    readonly namespace?: string;
  };
  /** A URL holding the program, and its sha256. */
  readonly remote?: { readonly url: string; readonly sha256sum: string };
  /** Spec-level only: add the images' OCI config files to the input. */
  readonly fetchConfigFile: boolean;
  /** Spec-level only: add the resource's spec. */
  readonly includeSpec: boolean;
  /** Spec-level only: add the resource's metadata. */
  readonly includeObjectMeta: boolean;
  /** Spec-level only: add the resource's apiVersion and kind. */
  readonly includeTypeMeta: boolean;
}

/** `authorities[].attestations[]`. */
export interface AttestationRef {
  /** The attestation's name (the key of `authorityMatches[...].attestations`). */
  readonly name: string;
  /** As written: a URI, or a deprecated short name (`custom`, `vuln`, `spdxjson`...). */
  readonly predicateType: string;
  /** The predicate type URI the short name stands for. */
  readonly predicateTypeUri: string;
  /** The program the in-toto statement must satisfy. */
  readonly policy?: PolicyDocument;
}

/** One authority: who may have signed (or attested) the image. */
export interface Authority {
  /** The authority's name (default `authority-<index>`). */
  readonly name: string;
  /** Verify with this public key. */
  readonly key?: KeyRef;
  /** Verify keyless signatures of these identities. */
  readonly keyless?: KeylessRef;
  /** Pass or fail without verifying. */
  readonly static?: StaticRef;
  /** Where signatures are read from (at most one). */
  readonly sources: readonly SignatureSource[];
  /** Require a transparency log entry (`ctlog`). */
  readonly ctlog?: TlogRef;
  /** Require RFC 3161 timestamps. */
  readonly rfc3161timestamp?: TimestampRef;
  /** Attestations required instead of a signature. */
  readonly attestations: readonly AttestationRef[];
  /** `legacy` (`.sig`/`.att` tags) or `bundle` (referrers); absent: both are read. */
  readonly signatureFormat?: "legacy" | "bundle";
}

/** `match[]`: the resources a policy applies to (all when none is given). */
export interface MatchResource {
  /** The API group (`""` for core). */
  readonly group: string;
  /** A version, or `*` for any. */
  readonly version: string;
  /** The plural resource name, for example `pods`. */
  readonly resource: string;
  /** The labels the resource must have. */
  readonly selector?: LabelSelector;
}

/** A parsed, validated and defaulted ClusterImagePolicy. */
export interface ClusterImagePolicy {
  /** The API version the document was written in. */
  readonly apiVersion: PolicyApiVersion;
  /** `metadata.name`. */
  readonly name: string;
  /** Where it was read from (a file path), for messages. */
  readonly origin: string;
  /** A hash of the name and spec: changes whenever the policy does (the cache key's half). */
  readonly version: string;
  /** Image globs the policy applies to. */
  readonly images: readonly { readonly glob: string }[];
  /** Who may have signed or attested the images. */
  readonly authorities: readonly Authority[];
  /** `warn` reports failures as warnings. */
  readonly mode: "enforce" | "warn";
  /** The resources the policy applies to (all when empty). */
  readonly match: readonly MatchResource[];
  /** The spec-level program over the `PolicyResult`. */
  readonly policy?: PolicyDocument;
  /** Validation warnings (deprecated predicate type names). */
  readonly warnings: readonly string[];
}

/** Options of {@link parseClusterImagePolicy}. */
export interface ParsePolicyOptions {
  /** The file the document came from, named in errors (default `ClusterImagePolicy`). */
  readonly origin?: string;
  /** Refuse a policy without authorities (default true, policy-controller's default). */
  readonly failOnEmptyAuthorities?: boolean;
  /** Resources `match[].resource` may name (default: the workloads the webhook checks). */
  readonly resources?: readonly string[];
}

/** The resources the webhook checks, by plural name: `match[].resource` may name these. */
export const WORKLOAD_RESOURCES = [
  "pods",
  "deployments",
  "replicasets",
  "statefulsets",
  "daemonsets",
  "jobs",
  "cronjobs",
] as const;

const KMS_PROVIDERS = ["awskms://", "azurekms://", "hashivault://", "gcpkms://"];
const HASH_ALGORITHMS: readonly KeyHashAlgorithm[] = ["sha224", "sha256", "sha384", "sha512"];
const DEFAULT_FULCIO_URL = "https://fulcio.sigstore.dev";
/** Bounds on what one policy may list. */
const MAX = {
  images: 256,
  authorities: 64,
  identities: 64,
  attestations: 32,
  match: 32,
  sources: 8,
  secrets: 32,
  text: 1 << 20,
} as const;
/** Most policies in one file. */
const MAX_DOCUMENTS = 256;
/** A Kubernetes object name (RFC 1123 subdomain). */
const NAME_RE = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$/;

/** Read one object's fields, reporting unknown fields and wrong types under its path. */
class Fields {
  readonly #value: Record<string, unknown>;
  readonly #path: string;
  readonly #errors: FieldErrors;

  constructor(value: Record<string, unknown>, path: string, errors: FieldErrors, known: string[]) {
    this.#value = value;
    this.#path = path;
    this.#errors = errors;
    const unknown = Object.keys(value).filter((k) => !known.includes(k));
    if (unknown.length > 0) {
      errors.add(disallowedFields(...unknown.map((k) => joinPath(path, k))));
    }
  }

  /** Present: neither absent nor null. */
  has(name: string): boolean {
    return this.#value[name] !== undefined && this.#value[name] !== null;
  }

  #wrong(name: string, what: string): undefined {
    this.#errors.add(
      invalidValue(this.#value[name], joinPath(this.#path, name), `expected ${what}`),
    );
    return undefined;
  }

  /** A string; "" reads as absent, as Go's zero value does. */
  string(name: string): string | undefined {
    const value = this.#value[name];
    if (value === undefined || value === null || value === "") return undefined;
    if (typeof value !== "string") return this.#wrong(name, "a string");
    if (value.length > MAX.text) return this.#wrong(name, `at most ${MAX.text} characters`);
    return value;
  }

  boolean(name: string): boolean | undefined {
    const value = this.#value[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== "boolean") return this.#wrong(name, "true or false");
    return value;
  }

  /** An object; null reads as absent (`keyless:` with nothing after it). */
  object(name: string): Record<string, unknown> | undefined {
    const value = this.#value[name];
    if (value === undefined || value === null) return undefined;
    if (!isRecord(value)) return this.#wrong(name, "an object");
    return value;
  }

  list(name: string, max: number): unknown[] | undefined {
    const value = this.#value[name];
    if (value === undefined || value === null) return undefined;
    if (!Array.isArray(value)) return this.#wrong(name, "a list");
    if (value.length > max) return this.#wrong(name, `at most ${max} entries`);
    return value;
  }

  path(name: string): string {
    return joinPath(this.#path, name);
  }
}

function objectAt(
  raw: unknown,
  path: string,
  errors: FieldErrors,
  known: string[],
): Fields | undefined {
  if (!isRecord(raw)) {
    errors.add(invalidValue(raw, path, "expected an object"));
    return undefined;
  }
  return new Fields(raw, path, errors, known);
}

function validateGlob(glob: string, path: string, errors: FieldErrors): void {
  try {
    compileImageGlob(glob);
  } catch (error) {
    errors.add(invalidValue(glob, path, `glob is invalid: ${errorMessage(error)}`));
  }
}

function validateRegExp(pattern: string, path: string, errors: FieldErrors): void {
  try {
    wholeValueRegExp(pattern);
  } catch (error) {
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
    errors.add(invalidValue(pattern, path, `regex is invalid: ${errorMessage(cause)}`));
  }
}

/** An AWS ARN's resource type (`arn:partition:service:region:account:resource`), or undefined. */
function arnResource(text: string): string | undefined {
  const sections = text.split(":");
  if (sections.length < 6 || sections[0] !== "arn") return undefined;
  return sections[5];
}

/**
 * policy-controller's `ValidateKMS`: a supported provider prefix, and for AWS a key or alias ARN
 * (`awskms://[ENDPOINT]/arn:aws:kms:REGION:ACCOUNT:key/ID`); key IDs and bare aliases are refused
 * because they need more configuration than a policy carries.
 */
function validateKms(kms: string, path: string, errors: FieldErrors): void {
  if (!KMS_PROVIDERS.some((prefix) => kms.startsWith(prefix))) {
    errors.add(invalidValue(
      kms,
      path,
      `malformed KMS format, should be prefixed by any of the supported providers: [${
        KMS_PROVIDERS.join(" ")
      }]`,
    ));
    return;
  }
  if (!kms.startsWith("awskms://")) return;
  const bad = (why: string): void => void errors.add(invalidValue(kms, path, why));
  const parts = kms.split("/");
  if (parts.length < 4) {
    return bad("malformed AWS KMS format 'awskms://$ENDPOINT/$KEYID'");
  }
  const uuid =
    "m?r?k?-?[A-Fa-f0-9]{8}-?[A-Fa-f0-9]{4}-?[A-Fa-f0-9]{4}-?[A-Fa-f0-9]{4}-?[A-Fa-f0-9]{12}";
  const arn = "arn:(?:aws|aws-us-gov|aws-cn):kms:[a-z0-9-]+:\\d{12}:";
  const forms = [
    `^awskms://([^/]*)/(${uuid})$`,
    `^awskms://([^/]*)/(${arn}key/${uuid})$`,
    `^awskms://([^/]*)/((alias/.*))$`,
    `^awskms://([^/]*)/(${arn}(alias/.*))$`,
  ];
  if (!forms.some((form) => new RegExp(form).test(kms))) {
    return bad("kms key should be in the format awskms://[ENDPOINT]/[ID/ALIAS/ARN]");
  }
  const endpoint = parts[2]!;
  if (endpoint.startsWith("arn") || endpoint.startsWith("alias")) {
    return bad("kms key should be in the format awskms://[ENDPOINT]/[ID/ALIAS/ARN]");
  }
  if (endpoint !== "" && !/^[^:]+:\d{1,5}$/.test(endpoint)) {
    return bad(`malformed endpoint: missing port in address`);
  }
  const resource = arnResource(parts[3]!);
  if (resource === undefined) return bad("failed to parse either key or alias arn");
  if (resource !== "key" && resource !== "alias") return bad(`ARN resource "${resource}"`);
}

function parseSecretRef(raw: Record<string, unknown>, path: string, errors: FieldErrors) {
  const fields = new Fields(raw, path, errors, ["name", "namespace"]);
  const name = fields.string("name");
  const namespace = fields.string("namespace");
  if (name === undefined) errors.add(missingField(fields.path("name")));
  return { name: name ?? "", ...(namespace !== undefined ? { namespace } : {}) };
}

/**
 * The choice `key` and `keyless.ca-cert` share: exactly one of `data` (inline PEM, checked by
 * `invalidData`), `kms` (a KMS URI) and `secretRef`.
 */
function parseKeySource(
  fields: Fields,
  path: string,
  errors: FieldErrors,
  invalidData: (data: string) => FieldProblem | undefined,
): { data?: string; kms?: string; secretRef?: SecretRef } {
  const data = fields.string("data");
  const kms = fields.string("kms");
  const secret = fields.object("secretRef");
  // knative names the three as lowercase paths (`...key.secretref`): keep its words.
  const oneOf = ["data", "kms", "secretref"].map((f) => joinPath(path, f));
  const given = [data, kms, secret].filter((v) => v !== undefined).length;
  if (given === 0) errors.add(missingOneOf(...oneOf));
  if (given > 1) errors.add(multipleOneOf(...oneOf));
  const problem = data === undefined ? undefined : invalidData(data);
  if (problem !== undefined) errors.add(problem);
  if (kms !== undefined) validateKms(kms, fields.path("kms"), errors);
  const secretRef = secret ? parseSecretRef(secret, fields.path("secretRef"), errors) : undefined;
  return {
    ...(data !== undefined ? { data } : {}),
    ...(kms !== undefined ? { kms } : {}),
    ...(secretRef ? { secretRef } : {}),
  };
}

function parseKeyRef(raw: unknown, path: string, errors: FieldErrors): KeyRef | undefined {
  const fields = objectAt(raw, path, errors, ["data", "kms", "secretRef", "hashAlgorithm"]);
  if (!fields) return undefined;
  const hash = fields.string("hashAlgorithm");
  let hashAlgorithm: KeyHashAlgorithm = "sha256";
  if (hash !== undefined) {
    const normalized = hash.trim().toLowerCase() as KeyHashAlgorithm;
    if (HASH_ALGORITHMS.includes(normalized)) hashAlgorithm = normalized;
    else errors.add(invalidValue(hash, fields.path("hashAlgorithm")));
  }
  const source = parseKeySource(fields, path, errors, (data) => {
    try {
      PublicKey.fromPem(data);
      return undefined;
    } catch {
      return invalidValue(data, fields.path("data"));
    }
  });
  return { ...source, hashAlgorithm };
}

function parseCaCert(raw: unknown, path: string, errors: FieldErrors): CaCertRef | undefined {
  const fields = objectAt(raw, path, errors, ["data", "kms", "secretRef", "hashAlgorithm"]);
  if (!fields) return undefined;
  fields.string("hashAlgorithm");
  return parseKeySource(fields, path, errors, (data) => {
    try {
      if (parseCertificatesPem(data).length > 0) return undefined;
    } catch {
      // reported below
    }
    return invalidValue(data, fields.path("data"), "expected PEM certificates");
  });
}

function parseIdentity(raw: unknown, path: string, errors: FieldErrors): PolicyIdentity {
  const fields = objectAt(raw, path, errors, [
    "issuer",
    "issuerRegExp",
    "subject",
    "subjectRegExp",
  ]);
  if (!fields) return {};
  const issuer = fields.string("issuer");
  const issuerRegExp = fields.string("issuerRegExp");
  const subject = fields.string("subject");
  const subjectRegExp = fields.string("subjectRegExp");
  if (issuer !== undefined && issuerRegExp !== undefined) {
    errors.add(multipleOneOf(fields.path("issuer"), fields.path("issuerRegExp")));
  }
  if (subject !== undefined && subjectRegExp !== undefined) {
    errors.add(multipleOneOf(fields.path("subject"), fields.path("subjectRegExp")));
  }
  if (issuerRegExp !== undefined) validateRegExp(issuerRegExp, fields.path("issuerRegExp"), errors);
  if (subjectRegExp !== undefined) {
    validateRegExp(subjectRegExp, fields.path("subjectRegExp"), errors);
  }
  if (subject === undefined && subjectRegExp === undefined) {
    errors.add(missingField(fields.path("subject"), fields.path("subjectRegExp")));
  }
  if (issuer === undefined && issuerRegExp === undefined) {
    errors.add(missingField(fields.path("issuer"), fields.path("issuerRegExp")));
  }
  return {
    ...(issuer !== undefined ? { issuer } : {}),
    ...(issuerRegExp !== undefined ? { issuerRegExp } : {}),
    ...(subject !== undefined ? { subject } : {}),
    ...(subjectRegExp !== undefined ? { subjectRegExp } : {}),
  };
}

function validateUrl(url: string, path: string, errors: FieldErrors): void {
  if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) {
    errors.add(invalidValue(url, path, "expected an http(s) URL"));
  }
}

function parseKeyless(
  raw: Record<string, unknown>,
  path: string,
  errors: FieldErrors,
  defaultUrl: boolean,
): KeylessRef {
  const fields = new Fields(raw, path, errors, [
    "url",
    "ca-cert",
    "identities",
    "trustRootRef",
    "insecureIgnoreSCT",
  ]);
  let url = fields.string("url");
  const caCertRaw = fields.object("ca-cert");
  // The defaulting webhook gives a keyless authority without either the public Fulcio.
  if (url === undefined && caCertRaw === undefined && defaultUrl) url = DEFAULT_FULCIO_URL;
  if (url === undefined && caCertRaw === undefined) {
    errors.add(missingOneOf(fields.path("url"), fields.path("ca-cert")));
  }
  if (url !== undefined && caCertRaw !== undefined) {
    errors.add(multipleOneOf(fields.path("url"), fields.path("ca-cert")));
  }
  if (url !== undefined) validateUrl(url, fields.path("url"), errors);
  const caCert = caCertRaw ? parseCaCert(caCertRaw, fields.path("ca-cert"), errors) : undefined;
  const list = fields.list("identities", MAX.identities);
  if (list === undefined || list.length === 0) {
    errors.add(
      schemaInvalid(fields.path("identities"), list ?? null, "at least one identity is required"),
    );
  }
  const identities = (list ?? []).map((item, i) =>
    parseIdentity(item, joinPath(path, indexPath("identities", i)), errors)
  );
  const trustRootRef = fields.string("trustRootRef");
  return {
    ...(url !== undefined ? { url } : {}),
    ...(caCert ? { caCert } : {}),
    identities,
    ...(trustRootRef !== undefined ? { trustRootRef } : {}),
    insecureIgnoreSCT: fields.boolean("insecureIgnoreSCT") ?? false,
  };
}

function parseStatic(raw: Record<string, unknown>, path: string, errors: FieldErrors) {
  const fields = new Fields(raw, path, errors, ["action", "message"]);
  const action = fields.string("action");
  const message = fields.string("message");
  if (action === undefined) errors.add(missingField(fields.path("action")));
  else if (action !== "pass" && action !== "fail") {
    errors.add(invalidValue(action, fields.path("action"), "unsupported action"));
  }
  return {
    action: action === "pass" ? "pass" as const : "fail" as const,
    ...(message !== undefined ? { message } : {}),
  };
}

/** policy-controller's `ValidateOCI`: a registry, or a registry with a repository. */
function validateOci(oci: string, path: string, errors: FieldErrors): void {
  const slash = oci.indexOf("/");
  const first = slash === -1 ? oci : oci.slice(0, slash);
  try {
    if (slash !== -1 && (first.includes(".") || first.includes(":"))) parseRepository(oci);
    else parseRegistry(oci);
  } catch (error) {
    errors.add(invalidValue(oci, path, errorMessage(error)));
  }
}

function parseSource(raw: unknown, path: string, errors: FieldErrors): SignatureSource {
  const fields = objectAt(raw, path, errors, ["oci", "tagPrefix", "signaturePullSecrets"]);
  if (!fields) return { signaturePullSecrets: [] };
  const oci = fields.string("oci");
  if (oci !== undefined) validateOci(oci, fields.path("oci"), errors);
  const tagPrefix = fields.string("tagPrefix");
  const secrets = (fields.list("signaturePullSecrets", MAX.secrets) ?? []).map((item, i) => {
    const at = joinPath(path, indexPath("signaturePullSecrets", i));
    const secret = objectAt(item, at, errors, ["name"]);
    const name = secret?.string("name");
    if (secret && name === undefined) errors.add(missingField(secret.path("name")));
    return name ?? "";
  });
  return {
    ...(oci !== undefined ? { oci } : {}),
    ...(tagPrefix !== undefined ? { tagPrefix } : {}),
    signaturePullSecrets: secrets,
  };
}

function parsePolicy(
  raw: unknown,
  path: string,
  errors: FieldErrors,
  specLevel: boolean,
): PolicyDocument | undefined {
  const fields = objectAt(raw, path, errors, [
    "type",
    "data",
    "configMapRef",
    "remote",
    "fetchConfigFile",
    "includeSpec",
    "includeObjectMeta",
    "includeTypeMeta",
  ]);
  if (!fields) return undefined;
  const type = fields.string("type");
  if (type !== "cue" && type !== "rego") {
    errors.add(
      invalidValue(type ?? "", fields.path("type"), "only [cue,rego] are supported at the moment"),
    );
  }
  const data = fields.string("data");
  const configMap = fields.object("configMapRef");
  const remoteRaw = fields.object("remote");
  const given = [data, configMap, remoteRaw].filter((v) => v !== undefined).length;
  const three = ["data", "configMapRef", "remote"].map((f) => fields.path(f));
  if (given === 0) errors.add(missingField(...three));
  if (given > 1) errors.add(multipleOneOf(...three));
  let configMapRef: PolicyDocument["configMapRef"];
  if (configMap) {
    const at = fields.path("configMapRef");
    const cm = new Fields(configMap, at, errors, ["name", "key", "namespace"]);
    const name = cm.string("name");
    const key = cm.string("key");
    const namespace = cm.string("namespace");
    if (name === undefined) errors.add(missingField(cm.path("name")));
    if (key === undefined) errors.add(missingField(cm.path("key")));
    configMapRef = { name: name ?? "", key: key ?? "", ...(namespace ? { namespace } : {}) };
  }
  let remote: PolicyDocument["remote"];
  if (remoteRaw) {
    const at = fields.path("remote");
    const r = new Fields(remoteRaw, at, errors, ["url", "sha256sum"]);
    const url = r.string("url") ?? "";
    const sha256sum = r.string("sha256sum");
    if (!URL.canParse(url) || new URL(url).protocol !== "https:" || new URL(url).host === "") {
      errors.add(
        invalidValue(
          url,
          r.path("url"),
          "url valid is invalid. host and https scheme are expected",
        ),
      );
    }
    if (sha256sum === undefined) errors.add(missingField(r.path("sha256sum")));
    else if (!/^[0-9a-f]{64}$/.test(sha256sum)) {
      errors.add(invalidValue(sha256sum, r.path("sha256sum"), "expected 64 lowercase hex digits"));
    }
    remote = { url, sha256sum: sha256sum ?? "" };
  }
  const flags = ["fetchConfigFile", "includeSpec", "includeObjectMeta", "includeTypeMeta"] as const;
  const values: Record<(typeof flags)[number], boolean> = {
    fetchConfigFile: false,
    includeSpec: false,
    includeObjectMeta: false,
    includeTypeMeta: false,
  };
  for (const flag of flags) {
    const value = fields.boolean(flag);
    if (value === undefined) continue;
    if (!specLevel) errors.add(disallowedFields(fields.path(flag)));
    values[flag] = value;
  }
  return {
    type: type === "rego" ? "rego" : "cue",
    ...(data !== undefined ? { data } : {}),
    ...(configMapRef ? { configMapRef } : {}),
    ...(remote ? { remote } : {}),
    ...values,
  };
}

/** The deprecated short predicate type names policy-controller still accepts (with a warning). */
const SHORT_PREDICATE_TYPES = new Set([
  "custom",
  "slsaprovenance",
  "spdx",
  "spdxjson",
  "cyclonedx",
  "link",
  "vuln",
]);

function parseAttestation(
  raw: unknown,
  path: string,
  errors: FieldErrors,
): AttestationRef | undefined {
  const fields = objectAt(raw, path, errors, ["name", "predicateType", "policy"]);
  if (!fields) return undefined;
  const name = fields.string("name");
  const predicateType = fields.string("predicateType");
  if (name === undefined) errors.add(missingField(fields.path("name")));
  let predicateTypeUri = predicateType ?? "";
  if (predicateType === undefined) {
    errors.add(missingField(fields.path("predicateType")));
  } else if (SHORT_PREDICATE_TYPES.has(predicateType)) {
    predicateTypeUri = PREDICATE_TYPES[predicateType]!;
    errors.add(asWarning(invalidValue(
      predicateType,
      fields.path("predicateType"),
      "deprecated value, please use RFC 3986 conformant values",
    )));
  } else if (!/^[A-Za-z][A-Za-z0-9+.-]*:\S+$/.test(predicateType) || !URL.canParse(predicateType)) {
    errors.add(asWarning(invalidValue(
      predicateType,
      fields.path("predicateType"),
      "deprecated value, please use RFC 3986 conformant values",
    )));
  }
  const policyRaw = fields.object("policy");
  const policy = policyRaw
    ? parsePolicy(policyRaw, fields.path("policy"), errors, false)
    : undefined;
  return {
    name: name ?? "",
    predicateType: predicateType ?? "",
    predicateTypeUri,
    ...(policy ? { policy } : {}),
  };
}

function parseAuthority(
  raw: unknown,
  index: number,
  path: string,
  errors: FieldErrors,
): Authority | undefined {
  const fields = objectAt(raw, path, errors, [
    "name",
    "key",
    "keyless",
    "static",
    "source",
    "ctlog",
    "attestations",
    "rfc3161timestamp",
    "signatureFormat",
  ]);
  if (!fields) return undefined;
  const name = fields.string("name") ?? `authority-${index}`;
  const keyRaw = fields.object("key");
  const keylessRaw = fields.object("keyless");
  const staticRaw = fields.object("static");
  const sourcesRaw = fields.list("source", MAX.sources) ?? [];
  const ctlogRaw = fields.object("ctlog");
  const attestationsRaw = fields.list("attestations", MAX.attestations) ?? [];
  const tsaRaw = fields.object("rfc3161timestamp");
  const kinds = [keyRaw, keylessRaw, staticRaw].filter((v) => v !== undefined).length;
  const three = ["key", "keyless", "static"].map((f) => fields.path(f));
  if (kinds === 0) {
    // As policy-controller: one concise message instead of every missing subfield.
    errors.add(missingOneOf(...three));
    return undefined;
  }
  if (kinds > 1) errors.add(multipleOneOf(...three));
  const key = keyRaw ? parseKeyRef(keyRaw, fields.path("key"), errors) : undefined;
  const keyless = keylessRaw
    ? parseKeyless(keylessRaw, fields.path("keyless"), errors, kinds === 1)
    : undefined;
  const staticRef = staticRaw ? parseStatic(staticRaw, fields.path("static"), errors) : undefined;
  if (staticRaw) {
    // Attestations, sources, logs and timestamps mean nothing to a static authority.
    const pairs: [boolean, string][] = [
      [attestationsRaw.length > 0, "attestations"],
      [sourcesRaw.length > 0, "source"],
      [ctlogRaw !== undefined, "ctlog"],
      [tsaRaw !== undefined, "rfc3161timestamp"],
    ];
    for (const [present, field] of pairs) {
      if (present) errors.add(multipleOneOf(fields.path("static"), fields.path(field)));
    }
  }
  let sources: SignatureSource[] = [];
  if (sourcesRaw.length > 1) {
    errors.add(invalidValue("source", fields.path("source"), "only single source is supported"));
  } else {
    sources = sourcesRaw.map((s, i) =>
      parseSource(s, joinPath(path, indexPath("source", i)), errors)
    );
  }
  let ctlog: TlogRef | undefined;
  if (ctlogRaw) {
    const c = new Fields(ctlogRaw, fields.path("ctlog"), errors, ["url", "trustRootRef"]);
    const url = c.string("url");
    const trustRootRef = c.string("trustRootRef");
    if (url !== undefined) validateUrl(url, c.path("url"), errors);
    ctlog = { ...(url ? { url } : {}), ...(trustRootRef ? { trustRootRef } : {}) };
  }
  let rfc3161timestamp: TimestampRef | undefined;
  if (tsaRaw) {
    const t = new Fields(tsaRaw, fields.path("rfc3161timestamp"), errors, ["trustRootRef"]);
    const trustRootRef = t.string("trustRootRef");
    rfc3161timestamp = trustRootRef ? { trustRootRef } : {};
  }
  const attestations = attestationsRaw.flatMap((a, i) => {
    const parsed = parseAttestation(a, joinPath(path, indexPath("attestations", i)), errors);
    return parsed ? [parsed] : [];
  });
  const format = fields.string("signatureFormat");
  if (format !== undefined && format !== "legacy" && format !== "bundle") {
    errors.add(invalidValue(format, fields.path("signatureFormat"), "expected legacy or bundle"));
  }
  return {
    name,
    ...(key ? { key } : {}),
    ...(keyless ? { keyless } : {}),
    ...(staticRef ? { static: staticRef } : {}),
    sources,
    ...(ctlog ? { ctlog } : {}),
    ...(rfc3161timestamp ? { rfc3161timestamp } : {}),
    attestations,
    ...(format === "legacy" || format === "bundle" ? { signatureFormat: format } : {}),
  };
}

function parseMatch(
  raw: unknown,
  path: string,
  errors: FieldErrors,
  resources: readonly string[],
): MatchResource | undefined {
  const fields = objectAt(raw, path, errors, ["group", "version", "resource", "selector"]);
  if (!fields) return undefined;
  const group = fields.string("group") ?? "";
  const version = fields.string("version") ?? "";
  const resource = fields.string("resource") ?? "";
  if (resource !== "" && !resources.includes(resource)) {
    errors.add(invalidValue(resource, fields.path("resource"), "unsupported resource name"));
  }
  let selector: LabelSelector | undefined;
  if (fields.has("selector")) {
    if (resource === "" && version === "" && group === "") {
      errors.add(
        invalidValue(
          resource,
          fields.path("selector"),
          "selector requires a resource type to match the labels",
        ),
      );
    }
    const parsed = parseLabelSelector(fields.object("selector") ?? {});
    errors.merge(parsed.errors, fields.path("selector"));
    selector = parsed.selector;
  }
  return { group, version, resource, ...(selector ? { selector } : {}) };
}

/**
 * Parse and validate one ClusterImagePolicy document (a parsed YAML or JSON value), applying
 * policy-controller's defaults. Every problem is reported at once: an
 * `ADMISSION_POLICY_INVALID` error whose message names the origin, each field and its problem
 * in knative's words (`invalid value: [: spec.images[0].glob`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseClusterImagePolicy } from "./policy.ts";
 *
 * const document = {
 *   apiVersion: "policy.sigstore.dev/v1beta1",
 *   kind: "ClusterImagePolicy",
 *   metadata: { name: "signed-by-release" },
 *   spec: {
 *     images: [{ glob: "ghcr.io/org/**" }],
 *     authorities: [{
 *       keyless: {
 *         identities: [{
 *           issuer: "https://token.actions.githubusercontent.com",
 *           subjectRegExp: "https://github.com/org/.*",
 *         }],
 *       },
 *     }],
 *   },
 * };
 * const policy = parseClusterImagePolicy(document);
 * assert.equal(policy.mode, "enforce"); // defaulted
 * assert.equal(policy.authorities[0]?.name, "authority-0");
 * assert.equal(policy.authorities[0]?.keyless?.url, "https://fulcio.sigstore.dev");
 *
 * const invalid = { ...document, spec: { ...document.spec, images: [{ glob: "[" }] } };
 * assert.throws(
 *   () => parseClusterImagePolicy(invalid, { origin: "bad.yaml" }),
 *   /"bad\.yaml": validation failed: invalid value: \[: spec\.images\[0\]\.glob/,
 * );
 * ```
 */
export function parseClusterImagePolicy(
  document: unknown,
  options: ParsePolicyOptions = {},
): ClusterImagePolicy {
  const origin = options.origin ?? "ClusterImagePolicy";
  const errors = new FieldErrors();
  const top = objectAt(document, "", errors, ["apiVersion", "kind", "metadata", "spec", "status"]);
  if (!top) throw invalidPolicy(origin, undefined, errors);
  const apiVersion = top.string("apiVersion");
  const kind = top.string("kind");
  if (kind !== "ClusterImagePolicy") {
    errors.add(invalidValue(kind ?? "", "kind", "expected ClusterImagePolicy"));
  }
  if (!POLICY_API_VERSIONS.includes(apiVersion as PolicyApiVersion)) {
    errors.add(
      invalidValue(
        apiVersion ?? "",
        "apiVersion",
        `expected one of ${POLICY_API_VERSIONS.join(", ")}`,
      ),
    );
  }
  const metadata = top.object("metadata");
  const name = typeof metadata?.name === "string" ? metadata.name : undefined;
  if (name === undefined || name === "") errors.add(missingField("metadata.name"));
  else if (name.length > 253 || !NAME_RE.test(name)) {
    errors.add(invalidValue(name, "metadata.name", "expected a lowercase RFC 1123 subdomain"));
  }
  const specRaw = top.object("spec");
  if (!specRaw) {
    errors.add(missingField("spec"));
    throw invalidPolicy(origin, name, errors);
  }
  const spec = new Fields(specRaw, "spec", errors, [
    "images",
    "authorities",
    "mode",
    "match",
    "policy",
  ]);
  const imagesRaw = spec.list("images", MAX.images) ?? [];
  if (imagesRaw.length === 0) errors.add(missingField("spec.images"));
  const images = imagesRaw.flatMap((item, i) => {
    const path = `spec.${indexPath("images", i)}`;
    const fields = objectAt(item, path, errors, ["glob"]);
    const glob = fields?.string("glob");
    if (!fields) return [];
    if (glob === undefined) {
      errors.add(missingField(fields.path("glob")));
      return [];
    }
    validateGlob(glob, fields.path("glob"), errors);
    return [{ glob }];
  });
  const authoritiesRaw = spec.list("authorities", MAX.authorities) ?? [];
  if (authoritiesRaw.length === 0 && options.failOnEmptyAuthorities !== false) {
    errors.add(missingField("spec.authorities"));
  }
  const authorities = authoritiesRaw.flatMap((item, i) => {
    const parsed = parseAuthority(item, i, `spec.${indexPath("authorities", i)}`, errors);
    return parsed ? [parsed] : [];
  });
  const names = new Set<string>();
  for (const [i, authority] of authorities.entries()) {
    if (names.has(authority.name)) {
      errors.add(
        invalidValue(
          authority.name,
          `spec.${indexPath("authorities", i)}.name`,
          "authority names must be unique",
        ),
      );
    }
    names.add(authority.name);
  }
  const modeText = spec.string("mode") ?? "enforce";
  if (modeText !== "enforce" && modeText !== "warn") {
    errors.add(invalidValue(modeText, "spec.mode", "unsupported mode"));
  }
  const resources = options.resources ?? WORKLOAD_RESOURCES;
  const match = (spec.list("match", MAX.match) ?? []).flatMap((item, i) => {
    const parsed = parseMatch(item, `spec.${indexPath("match", i)}`, errors, resources);
    return parsed ? [parsed] : [];
  });
  const policyRaw = spec.object("policy");
  const policy = policyRaw ? parsePolicy(policyRaw, "spec.policy", errors, true) : undefined;
  if (errors.hasErrors) throw invalidPolicy(origin, name, errors);
  const warnings = formatProblems(errors.problems.filter((p) => p.level === "warning"));
  const model = {
    apiVersion: apiVersion as PolicyApiVersion,
    name: name!,
    images,
    authorities,
    mode: modeText as "enforce" | "warn",
    match,
    ...(policy ? { policy } : {}),
  };
  return {
    ...model,
    origin,
    // The content hash is the policy's version: a cached result never outlives an edit.
    version: sha256Digest(utf8(JSON.stringify(model))),
    warnings,
  };
}

function invalidPolicy(origin: string, name: string | undefined, errors: FieldErrors): CosignError {
  const lines = formatProblems(errors.problems.filter((p) => p.level === "error"))
    .map((line) => line.replace(/\n/g, ": "));
  const what = name ? `ClusterImagePolicy "${name}"` : "ClusterImagePolicy";
  return new CosignError(
    "ADMISSION_POLICY_INVALID",
    `Invalid ${what} in "${origin}": validation failed: ${lines.join("; ")}`,
  );
}

/**
 * Every ClusterImagePolicy in a YAML (or JSON) text: one per document, `---` separated. A
 * document of another kind, unparseable YAML or an invalid policy is an `ADMISSION_POLICY_INVALID`
 * error naming `origin`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseClusterImagePolicies } from "./policy.ts";
 *
 * const text = `apiVersion: policy.sigstore.dev/v1beta1
 * kind: ClusterImagePolicy
 * metadata: {name: deny-demo}
 * spec:
 *   images: [{glob: "**demo**"}]
 *   authorities: [{static: {action: fail, message: no demo images}}]
 * `;
 * const [policy] = parseClusterImagePolicies(text, { origin: "deny.yaml" });
 * assert.equal(policy?.authorities[0]?.static?.action, "fail");
 * ```
 */
export function parseClusterImagePolicies(
  text: string,
  options: ParsePolicyOptions = {},
): ClusterImagePolicy[] {
  const origin = options.origin ?? "ClusterImagePolicy";
  let documents: unknown[];
  try {
    documents = parseYamlDocuments(text, { maxDocuments: MAX_DOCUMENTS });
  } catch (error) {
    throw new CosignError(
      "ADMISSION_POLICY_INVALID",
      `Cannot read "${origin}": ${errorMessage(error)}`,
      {
        cause: error,
      },
    );
  }
  return documents.map((document, index) =>
    parseClusterImagePolicy(document, {
      ...options,
      origin: documents.length > 1 ? `${origin}#${index + 1}` : origin,
    })
  );
}
