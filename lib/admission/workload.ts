/**
 * The workloads an admission request carries, and the images in them: Pods, Deployments,
 * ReplicaSets, StatefulSets, DaemonSets, Jobs and CronJobs, as policy-controller registers them
 * (`cmd/webhook/main.go`, its `types` map). Every container, init container, ephemeral container
 * and image volume of the pod spec is found, with its path for messages
 * (`spec.template.spec.containers[0].image`) and its JSON pointer for patches.
 *
 * The object is untrusted JSON: its shape is checked, and the number of containers is bounded
 * before anything is done with them.
 *
 * @module
 */

import { CosignError } from "../errors.ts";
import { isRecord } from "../util/json.ts";

/** Error codes raised here. */
export type WorkloadErrorCode = "ADMISSION_REVIEW_MALFORMED";

/** The lists of a pod spec that name images. */
export type ImageField = "initContainers" | "containers" | "ephemeralContainers" | "volumes";

/** One image reference in a workload. */
export interface WorkloadImage {
  /** Which list it is in. */
  readonly field: ImageField;
  /** Its index in that list. */
  readonly index: number;
  /** The reference as written. */
  readonly image: string;
  /** knative-style path of the field: `spec.containers[0].image`. */
  readonly path: string;
  /** RFC 6901 JSON pointer of the field, for a JSONPatch: `/spec/containers/0/image`. */
  readonly pointer: string;
}

/** A workload kind this module reads, where its pod spec is, and its resource name. */
interface KindInfo {
  readonly group: string;
  readonly versions: readonly string[];
  readonly resource: string;
  readonly podSpec: readonly string[];
  /** Scaling down is never blocked (policy-controller `PodScalable.IsScalingDown`). */
  readonly scalable: boolean;
}

const TEMPLATE = ["spec", "template", "spec"];

/** The kinds checked, as policy-controller registers them. */
const KINDS: Readonly<Record<string, KindInfo>> = {
  Pod: { group: "", versions: ["v1"], resource: "pods", podSpec: ["spec"], scalable: false },
  Deployment: {
    group: "apps",
    versions: ["v1"],
    resource: "deployments",
    podSpec: TEMPLATE,
    scalable: true,
  },
  ReplicaSet: {
    group: "apps",
    versions: ["v1"],
    resource: "replicasets",
    podSpec: TEMPLATE,
    scalable: true,
  },
  StatefulSet: {
    group: "apps",
    versions: ["v1"],
    resource: "statefulsets",
    podSpec: TEMPLATE,
    scalable: true,
  },
  DaemonSet: {
    group: "apps",
    versions: ["v1"],
    resource: "daemonsets",
    podSpec: TEMPLATE,
    scalable: false,
  },
  Job: { group: "batch", versions: ["v1"], resource: "jobs", podSpec: TEMPLATE, scalable: false },
  CronJob: {
    group: "batch",
    versions: ["v1", "v1beta1"],
    resource: "cronjobs",
    podSpec: ["spec", "jobTemplate", "spec", "template", "spec"],
    scalable: false,
  },
};

/** A workload read from an admission request. */
export interface Workload {
  /** The object's API version. */
  readonly apiVersion: string;
  /** The object's kind. */
  readonly kind: string;
  /** The API group (`""` for core), version and plural resource name. */
  readonly group: string;
  /** The API version alone. */
  readonly version: string;
  /** The plural resource name. */
  readonly resource: string;
  /** `metadata.name`. */
  readonly name?: string;
  /** `metadata.namespace`. */
  readonly namespace?: string;
  /** `metadata.labels`. */
  readonly labels: Readonly<Record<string, string>>;
  /** The object's `metadata`, `spec`, and its `{apiVersion, kind}` (for CIP-level policies). */
  readonly metadata: unknown;
  /** The object's `spec`. */
  readonly spec: unknown;
  /** The object's `apiVersion` and `kind`. */
  readonly typeMeta: { readonly apiVersion: string; readonly kind: string };
  /** Where the pod spec is: `spec`, `spec.template.spec`, ... */
  readonly podSpecPath: string;
  /** Every image reference, in the order policy-controller checks them. */
  readonly images: readonly WorkloadImage[];
  /** `spec.replicas`, for kinds that scale. */
  readonly replicas?: number;
  /** Set when the object is being deleted. */
  readonly deleting: boolean;
}

/** Options of {@link readWorkload}. */
export interface ReadWorkloadOptions {
  /** Most image references accepted in one object (default 1,000); more is malformed. */
  readonly maxImages?: number;
}

/** The default bound on image references per object. */
export const DEFAULT_MAX_IMAGES = 1000;

function malformed(message: string): CosignError {
  return new CosignError("ADMISSION_REVIEW_MALFORMED", `Malformed workload: ${message}`);
}

/** Whether dcosign checks objects of this kind and API version. */
export function isWorkloadKind(apiVersion: string, kind: string): boolean {
  const info = Object.hasOwn(KINDS, kind) ? KINDS[kind] : undefined;
  if (!info) return false;
  const { group, version } = splitApiVersion(apiVersion);
  return group === info.group && info.versions.includes(version);
}

/** `apps/v1` as group `apps` and version `v1`; `v1` as the core group. */
export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf("/");
  return slash === -1
    ? { group: "", version: apiVersion }
    : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

function stringMap(value: unknown, path: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (!isRecord(value)) throw malformed(`${path} is not a map`);
  const out: Record<string, string> = {};
  for (const [key, item] of Object.entries(value)) {
    if (typeof item !== "string") throw malformed(`${path}.${key} is not a string`);
    Object.defineProperty(out, key, { value: item, enumerable: true });
  }
  return out;
}

function escapePointer(segment: string): string {
  return segment.replace(/~/g, "~0").replace(/\//g, "~1");
}

/**
 * Read a workload object (the `request.object` of an AdmissionReview): its kind, labels and
 * every image reference. A kind this module does not check, or a malformed object, raises
 * `ADMISSION_REVIEW_MALFORMED`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readWorkload } from "./workload.ts";
 *
 * const workload = readWorkload({
 *   apiVersion: "apps/v1",
 *   kind: "Deployment",
 *   metadata: { name: "web", labels: { app: "web" } },
 *   spec: { template: { spec: { containers: [{ name: "web", image: "nginx:1.27" }] } } },
 * });
 * assert.equal(workload.resource, "deployments");
 * assert.deepEqual(workload.images.map((i) => i.path), ["spec.template.spec.containers[0].image"]);
 * assert.equal(workload.images[0]?.pointer, "/spec/template/spec/containers/0/image");
 * ```
 */
export function readWorkload(object: unknown, options: ReadWorkloadOptions = {}): Workload {
  if (!isRecord(object)) throw malformed("the object is not a JSON object");
  const { apiVersion, kind } = object;
  if (typeof apiVersion !== "string" || typeof kind !== "string") {
    throw malformed("apiVersion and kind must be strings");
  }
  if (!isWorkloadKind(apiVersion, kind)) {
    throw malformed(`dcosign does not check ${kind} (${apiVersion})`);
  }
  const info = KINDS[kind]!;
  const { group, version } = splitApiVersion(apiVersion);
  const metadata = object.metadata ?? {};
  if (!isRecord(metadata)) throw malformed("metadata is not an object");
  const labels = stringMap(metadata.labels, "metadata.labels");
  let podSpec: unknown = object;
  for (const segment of info.podSpec) {
    podSpec = isRecord(podSpec) ? podSpec[segment] : undefined;
  }
  const podSpecPath = info.podSpec.join(".");
  if (!isRecord(podSpec)) throw malformed(`${podSpecPath} is not an object`);
  const maxImages = options.maxImages ?? DEFAULT_MAX_IMAGES;
  const images: WorkloadImage[] = [];
  const fields: ImageField[] = ["initContainers", "containers", "ephemeralContainers", "volumes"];
  for (const field of fields) {
    const list = podSpec[field];
    if (list === undefined || list === null) continue;
    if (!Array.isArray(list)) throw malformed(`${podSpecPath}.${field} is not a list`);
    // Bound before walking: a hostile object may list millions of containers.
    if (images.length + list.length > maxImages) {
      throw malformed(`more than ${maxImages} containers and image volumes`);
    }
    list.forEach((item, index) => {
      const at = `${podSpecPath}.${field}[${index}]`;
      if (!isRecord(item)) throw malformed(`${at} is not an object`);
      const base = `/${info.podSpec.map(escapePointer).join("/")}/${field}/${index}`;
      if (field === "volumes") {
        // Image volumes (Kubernetes 1.31): `volumes[].image.reference`.
        const source = item.image;
        if (source === undefined || source === null) return;
        if (!isRecord(source) || typeof source.reference !== "string") {
          throw malformed(`${at}.image.reference is not a string`);
        }
        if (source.reference === "") return;
        images.push({
          field,
          index,
          image: source.reference,
          path: `${at}.image.reference`,
          pointer: `${base}/image/reference`,
        });
        return;
      }
      if (typeof item.image !== "string") throw malformed(`${at}.image is not a string`);
      images.push({
        field,
        index,
        image: item.image,
        path: `${at}.image`,
        pointer: `${base}/image`,
      });
    });
  }
  const spec = object.spec;
  const replicas = info.scalable && isRecord(spec) && typeof spec.replicas === "number"
    ? spec.replicas
    : undefined;
  return {
    apiVersion,
    kind,
    group,
    version,
    resource: info.resource,
    ...(typeof metadata.name === "string" ? { name: metadata.name } : {}),
    ...(typeof metadata.namespace === "string" ? { namespace: metadata.namespace } : {}),
    labels,
    metadata,
    spec,
    typeMeta: { apiVersion, kind },
    podSpecPath,
    images,
    ...(replicas !== undefined ? { replicas } : {}),
    deleting: metadata.deletionTimestamp !== undefined && metadata.deletionTimestamp !== null,
  };
}
