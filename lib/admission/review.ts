/**
 * `admission.k8s.io/v1` AdmissionReview in and out: what the API server POSTs to a webhook and
 * the answer it expects (Kubernetes "Dynamic Admission Control"), for the validating hook
 * (`/validations`: allowed, denied with a status message, or allowed with warnings) and the
 * mutating hook (`/mutations`: tags resolved to digests as a base64 JSONPatch).
 *
 * The request is untrusted JSON of bounded size: its shape is checked before anything reads it.
 * A review that cannot be read at all is an HTTP 400 (the API server then applies the webhook's
 * `failurePolicy`); one that can be read always gets an answer for its `uid`, a denial when the
 * object is malformed or the decision could not be made and `failOpen` is off.
 *
 * As policy-controller does, nothing is checked on DELETE or CONNECT, on status or other
 * subresource updates (ephemeral containers of a Pod excepted), for an object being deleted,
 * or when a scalable workload is only being scaled down.
 *
 * @module
 */

import { CosignError, errorMessage, isCosignError } from "../errors.ts";
import { isRecord } from "../util/json.ts";
import { formatImageReference, parseImageReference } from "../oci/reference.ts";
import { formatProblems } from "./field_errors.ts";
import { type AdmissionController, MAX_REPORTED_PROBLEMS } from "./controller.ts";
import { parseClusterImagePolicy, POLICY_API_VERSIONS } from "./policy.ts";
import { isWorkloadKind, readWorkload, type Workload } from "./workload.ts";

/** Error codes raised here. */
export type AdmissionReviewErrorCode = "ADMISSION_REVIEW_MALFORMED" | "ADMISSION_REVIEW_TOO_LARGE";

/** The AdmissionReview API version read and written. */
export const ADMISSION_REVIEW_VERSION = "admission.k8s.io/v1";

/** Largest AdmissionReview accepted: objects are at most 1.5 MiB in etcd, twice for updates. */
export const MAX_REVIEW_BYTES = 3 << 20;

/** Longest denial message or warning sent back (the API server shows them to users). */
const MAX_MESSAGE_CHARS = 16 * 1024;
const MAX_WARNING_CHARS = 1024;

/** The parts of an AdmissionRequest the hooks read. */
export interface AdmissionRequest {
  /** The request's identifier, echoed in the answer. */
  readonly uid: string;
  /** The object's group, version and kind. */
  readonly kind: { readonly group: string; readonly version: string; readonly kind: string };
  /** The operation. */
  readonly operation: "CREATE" | "UPDATE" | "DELETE" | "CONNECT";
  /** The subresource (`status`, `ephemeralcontainers`...). */
  readonly subResource?: string;
  /** The object's name. */
  readonly name?: string;
  /** The object's namespace. */
  readonly namespace?: string;
  /** The object (absent on DELETE). */
  readonly object?: unknown;
  /** The object before an UPDATE. */
  readonly oldObject?: unknown;
  /** Whether it is a dry run. */
  readonly dryRun: boolean;
}

/** The AdmissionResponse sent back. */
export interface AdmissionResponse {
  /** The request's uid. */
  readonly uid: string;
  /** Whether the object is admitted. */
  readonly allowed: boolean;
  /** Why it is denied. */
  readonly status?: {
    readonly code: number;
    readonly message: string;
    readonly reason?: string;
    readonly status: "Failure";
  };
  /** Warnings shown to the user. */
  readonly warnings?: readonly string[];
  /** Set when `patch` is. */
  readonly patchType?: "JSONPatch";
  /** Base64 of the JSONPatch document. */
  readonly patch?: string;
}

/** How a review ended, for metrics (a closed set: bounded label values). */
export type ReviewOutcome = "allowed" | "warned" | "denied" | "patched" | "skipped" | "error";

/** The HTTP answer to one review. */
export interface ReviewAnswer {
  /** 200 with an AdmissionReview, or 400/413 when the review could not be read. */
  readonly status: number;
  /** The JSON body (an AdmissionReview, or `{error}`). */
  readonly body: unknown;
  /** How it ended, for metrics. */
  readonly outcome: ReviewOutcome;
}

function malformed(message: string): CosignError {
  return new CosignError("ADMISSION_REVIEW_MALFORMED", `Malformed AdmissionReview: ${message}`);
}

const OPERATIONS = new Set(["CREATE", "UPDATE", "DELETE", "CONNECT"]);

/**
 * Read an AdmissionReview (JSON bytes, at most {@link MAX_REVIEW_BYTES}). A body that is too
 * large raises `ADMISSION_REVIEW_TOO_LARGE`; one that is not an `admission.k8s.io/v1`
 * AdmissionReview with a request `ADMISSION_REVIEW_MALFORMED`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseAdmissionReview } from "./review.ts";
 *
 * const request = parseAdmissionReview(new TextEncoder().encode(JSON.stringify({
 *   apiVersion: "admission.k8s.io/v1",
 *   kind: "AdmissionReview",
 *   request: {
 *     uid: "705ab4f5-6393-11e8-b7cc-42010a800002",
 *     kind: { group: "", version: "v1", kind: "Pod" },
 *     resource: { group: "", version: "v1", resource: "pods" },
 *     operation: "CREATE",
 *     namespace: "default",
 *     object: { apiVersion: "v1", kind: "Pod", spec: { containers: [] } },
 *   },
 * })));
 * assert.equal(request.operation, "CREATE");
 * assert.equal(request.kind.kind, "Pod");
 * ```
 */
export function parseAdmissionReview(body: Uint8Array): AdmissionRequest {
  if (body.length > MAX_REVIEW_BYTES) {
    throw new CosignError(
      "ADMISSION_REVIEW_TOO_LARGE",
      `AdmissionReview of ${body.length} bytes is over the limit of ${MAX_REVIEW_BYTES}`,
    );
  }
  let document: unknown;
  try {
    document = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
  } catch (error) {
    throw malformed(`not JSON: ${errorMessage(error)}`);
  }
  if (!isRecord(document)) throw malformed("not a JSON object");
  if (document.apiVersion !== ADMISSION_REVIEW_VERSION || document.kind !== "AdmissionReview") {
    throw malformed(`expected apiVersion ${ADMISSION_REVIEW_VERSION} and kind AdmissionReview`);
  }
  const request = document.request;
  if (!isRecord(request)) throw malformed("request is missing");
  const { uid, kind, operation } = request;
  if (typeof uid !== "string" || uid === "" || uid.length > 256) {
    throw malformed("request.uid must be a non-empty string");
  }
  if (
    !isRecord(kind) || typeof kind.group !== "string" || typeof kind.version !== "string" ||
    typeof kind.kind !== "string"
  ) {
    throw malformed("request.kind must have group, version and kind");
  }
  if (typeof operation !== "string" || !OPERATIONS.has(operation)) {
    throw malformed("request.operation must be CREATE, UPDATE, DELETE or CONNECT");
  }
  const optional = (name: string) => {
    const value = request[name];
    if (value === undefined || value === null || value === "") return undefined;
    if (typeof value !== "string") throw malformed(`request.${name} must be a string`);
    return value;
  };
  const subResource = optional("subResource");
  const name = optional("name");
  const namespace = optional("namespace");
  return {
    uid,
    kind: { group: kind.group, version: kind.version, kind: kind.kind },
    operation: operation as AdmissionRequest["operation"],
    ...(subResource ? { subResource } : {}),
    ...(name ? { name } : {}),
    ...(namespace ? { namespace } : {}),
    ...(request.object !== undefined && request.object !== null ? { object: request.object } : {}),
    ...(request.oldObject !== undefined && request.oldObject !== null
      ? { oldObject: request.oldObject }
      : {}),
    dryRun: request.dryRun === true,
  };
}

function review(response: AdmissionResponse): unknown {
  return { apiVersion: ADMISSION_REVIEW_VERSION, kind: "AdmissionReview", response };
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 3)}...`;
}

function denial(uid: string, message: string): AdmissionResponse {
  return {
    uid,
    allowed: false,
    status: {
      code: 403,
      reason: "Forbidden",
      status: "Failure",
      message: truncate(message, MAX_MESSAGE_CHARS),
    },
  };
}

function deny(uid: string, message: string): ReviewAnswer {
  return { status: 200, body: review(denial(uid, message)), outcome: "denied" };
}

/** At most {@link MAX_REPORTED_PROBLEMS} lines, the rest counted. */
function bounded(lines: string[]): string[] {
  if (lines.length <= MAX_REPORTED_PROBLEMS) return lines;
  return [
    ...lines.slice(0, MAX_REPORTED_PROBLEMS),
    `... and ${lines.length - MAX_REPORTED_PROBLEMS} more`,
  ];
}

/** Read the review body, or the HTTP answer for one that cannot be read. */
function readReview(body: Uint8Array): AdmissionRequest | ReviewAnswer {
  try {
    return parseAdmissionReview(body);
  } catch (error) {
    const tooLarge = isCosignError(error, "ADMISSION_REVIEW_TOO_LARGE");
    return {
      status: tooLarge ? 413 : 400,
      body: { error: errorMessage(error) },
      outcome: "error",
    };
  }
}

/** Why a request is let through unchecked, or undefined when it must be checked. */
function skipReason(request: AdmissionRequest): string | undefined {
  if (request.operation !== "CREATE" && request.operation !== "UPDATE") {
    return `${request.operation} is not checked`;
  }
  if (
    request.subResource !== undefined &&
    !(request.kind.kind === "Pod" && request.subResource === "ephemeralcontainers")
  ) {
    return `the ${request.subResource} subresource is not checked`;
  }
  return undefined;
}

function scalingDown(request: AdmissionRequest, workload: Workload): boolean {
  if (request.operation !== "UPDATE" || workload.replicas === undefined) return false;
  const old = request.oldObject;
  const before = isRecord(old) && isRecord(old.spec) ? old.spec.replicas : undefined;
  return typeof before === "number" && workload.replicas < before;
}

function isPolicyKind(request: AdmissionRequest): boolean {
  return request.kind.kind === "ClusterImagePolicy" &&
    POLICY_API_VERSIONS.includes(
      `${request.kind.group}/${request.kind.version}` as (typeof POLICY_API_VERSIONS)[number],
    );
}

/**
 * What a review asks both hooks to look at, decided once so that the validating and the mutating
 * hook agree on it: a workload to check, a request to let through (`skip`), an object of a kind
 * dcosign does not check (`unchecked`, with a warning), or an object that cannot be read as what
 * it says it is (`invalid`, with the reason).
 */
type ReviewSubject =
  | { readonly workload: Workload }
  | { readonly skip: true }
  | { readonly unchecked: string }
  | { readonly invalid: string };

function reviewSubject(request: AdmissionRequest): ReviewSubject {
  if (skipReason(request)) return { skip: true };
  const object = request.object;
  if (!isRecord(object)) return { invalid: "the request has no object" };
  const { apiVersion, kind } = object;
  if (typeof apiVersion !== "string" || typeof kind !== "string") {
    return { invalid: "the object has no apiVersion or kind" };
  }
  if (!isWorkloadKind(apiVersion, kind)) {
    return { unchecked: `dcosign does not check ${kind} (${apiVersion}) objects` };
  }
  let workload: Workload;
  try {
    workload = readWorkload(object);
  } catch (error) {
    return { invalid: errorMessage(error) };
  }
  if (workload.deleting || scalingDown(request, workload)) return { skip: true };
  return { workload };
}

/** Validate a ClusterImagePolicy being created or updated (the CRD's validating webhook). */
function validatePolicyObject(request: AdmissionRequest): ReviewAnswer {
  try {
    const policy = parseClusterImagePolicy(request.object, {
      origin: request.name ?? "ClusterImagePolicy",
    });
    const warnings = policy.warnings.map((w) =>
      truncate(w.replace(/\n/g, ": "), MAX_WARNING_CHARS)
    );
    return {
      status: 200,
      body: review({ uid: request.uid, allowed: true, ...(warnings.length ? { warnings } : {}) }),
      outcome: warnings.length ? "warned" : "allowed",
    };
  } catch (error) {
    return deny(request.uid, errorMessage(error));
  }
}

/**
 * The validating hook: decide the review's workload and answer allowed, denied (one line per
 * failing image path) or allowed with warnings.
 *
 * @example A Pod whose image no policy matches, with `noMatchPolicy: "deny"` (the default)
 * ```ts
 * import assert from "node:assert/strict";
 * import { AdmissionController, answerValidation, RegistryClient } from "@dcosign/dcosign";
 *
 * const controller = new AdmissionController({ policies: [], client: new RegistryClient() });
 * const review = {
 *   apiVersion: "admission.k8s.io/v1",
 *   kind: "AdmissionReview",
 *   request: {
 *     uid: "42",
 *     kind: { group: "", version: "v1", kind: "Pod" },
 *     operation: "CREATE",
 *     object: {
 *       apiVersion: "v1",
 *       kind: "Pod",
 *       spec: { containers: [{ name: "app", image: `ghcr.io/org/app@sha256:${"a".repeat(64)}` }] },
 *     },
 *   },
 * };
 * const answer = await answerValidation(controller, new TextEncoder().encode(JSON.stringify(review)));
 * const { response } = answer.body as { response: { allowed: boolean; status: { message: string } } };
 * assert.equal(response.allowed, false);
 * assert.match(response.status.message, /no matching policies: spec\.containers\[0\]\.image/);
 * ```
 */
export async function answerValidation(
  controller: AdmissionController,
  body: Uint8Array,
): Promise<ReviewAnswer> {
  const request = readReview(body);
  if ("status" in request) return request;
  const { uid } = request;
  const allow = (outcome: ReviewOutcome, warnings: string[] = []): ReviewAnswer => ({
    status: 200,
    body: review({ uid, allowed: true, ...(warnings.length ? { warnings } : {}) }),
    outcome,
  });
  if (skipReason(request)) return allow("skipped");
  if (isPolicyKind(request)) return validatePolicyObject(request);
  const subject = reviewSubject(request);
  if ("skip" in subject) return allow("skipped");
  if ("invalid" in subject) return deny(uid, `validation failed: ${subject.invalid}`);
  if ("unchecked" in subject) return allow("skipped", [subject.unchecked]);
  const { workload } = subject;
  try {
    const decision = await controller.checkWorkload(workload);
    const errors = formatProblems(decision.problems.filter((p) => p.level === "error"));
    const warnings = bounded(formatProblems(decision.problems.filter((p) => p.level === "warning")))
      .map((w) => truncate(w, MAX_WARNING_CHARS));
    if (errors.length > 0) {
      const response = denial(uid, `validation failed: ${bounded(errors).join("\n")}`);
      return {
        status: 200,
        body: review({ ...response, ...(warnings.length ? { warnings } : {}) }),
        outcome: "denied",
      };
    }
    return allow(warnings.length ? "warned" : "allowed", warnings);
  } catch (error) {
    // A crash is never an admission, unless the operator chose to fail open.
    const message = `dcosign could not decide: ${errorMessage(error)}`;
    if (controller.failOpen) return allow("warned", [truncate(message, MAX_WARNING_CHARS)]);
    return { status: 200, body: review(denial(uid, message)), outcome: "error" };
  }
}

/** RFC 6902 JSONPatch operation. */
interface PatchOperation {
  readonly op: "replace";
  readonly path: string;
  readonly value: string;
}

/**
 * The mutating hook: resolve every tag reference of the workload to its digest and answer with
 * a JSONPatch replacing it by `registry/repository:tag@digest` (the tag kept for humans). An
 * image that cannot be resolved is left alone: the validating hook then refuses it.
 *
 * @example A Pod by tag is patched to its digest
 * ```ts
 * import assert from "node:assert/strict";
 * import { AdmissionController, answerMutation, RegistryClient } from "@dcosign/dcosign";
 * import { startStack } from "@dcosign/dcosign/server";
 * import { buildExampleImage } from "../oci/example_image.ts";
 *
 * await using stack = await startStack();
 * const client = new RegistryClient();
 * const pushed = await buildExampleImage(client, `${stack.registryHost}/docs/web:1.0`);
 * const controller = new AdmissionController({ policies: [], client });
 * const review = {
 *   apiVersion: "admission.k8s.io/v1",
 *   kind: "AdmissionReview",
 *   request: {
 *     uid: "7",
 *     kind: { group: "", version: "v1", kind: "Pod" },
 *     operation: "CREATE",
 *     object: {
 *       apiVersion: "v1",
 *       kind: "Pod",
 *       spec: { containers: [{ name: "web", image: `${stack.registryHost}/docs/web:1.0` }] },
 *     },
 *   },
 * };
 * const answer = await answerMutation(controller, new TextEncoder().encode(JSON.stringify(review)));
 * const { response } = answer.body as { response: { patch: string } };
 * const patch = JSON.parse(new TextDecoder().decode(Uint8Array.fromBase64(response.patch)));
 * assert.deepEqual(patch, [{
 *   op: "replace",
 *   path: "/spec/containers/0/image",
 *   value: `${stack.registryHost}/docs/web:1.0@${pushed.digest}`,
 * }]);
 * ```
 */
export async function answerMutation(
  controller: AdmissionController,
  body: Uint8Array,
): Promise<ReviewAnswer> {
  const request = readReview(body);
  if ("status" in request) return request;
  const { uid } = request;
  const allow: ReviewAnswer = {
    status: 200,
    body: review({ uid, allowed: true }),
    outcome: "skipped",
  };
  // What is not a readable workload is left alone: the validating hook explains it.
  const subject = reviewSubject(request);
  if (!("workload" in subject)) return allow;
  const { workload } = subject;
  const resolved = await controller.resolveTags(workload.images.map((i) => i.image));
  const patch: PatchOperation[] = [];
  for (const item of workload.images) {
    const digest = resolved.get(item.image);
    if (digest === undefined) continue;
    const ref = parseImageReference(item.image);
    const named = formatImageReference({
      registry: ref.registry,
      repository: ref.repository,
      ...(ref.tag !== undefined ? { tag: ref.tag } : {}),
    });
    patch.push({ op: "replace", path: item.pointer, value: `${named}@${digest}` });
  }
  if (patch.length === 0) return { ...allow, outcome: "allowed" };
  const encoded = new TextEncoder().encode(JSON.stringify(patch)).toBase64();
  return {
    status: 200,
    body: review({ uid, allowed: true, patchType: "JSONPatch", patch: encoded }),
    outcome: "patched",
  };
}
