/**
 * ClusterImagePolicies read from the cluster (`admission serve --policies-from-kubernetes`): the
 * webhook lists `policy.sigstore.dev/v1beta1` clusterimagepolicies from the API server with its
 * service-account token, every `pollMs`, and swaps in the new set when a policy's resource
 * version changed. Each replica reads on its own; nothing is written to the cluster.
 *
 * Reading is bounded (page size, pages, bytes). A policy that no longer validates is left out
 * with an error (the validating webhook keeps such objects from being created); one that
 * validates but cannot be enforced by this build denies the images it matches, so an
 * unenforceable policy fails closed. A failed listing keeps the previous set.
 *
 * @module
 */

import { CosignError, errorMessage } from "../../lib/errors.ts";
import { isRecord } from "../../lib/util/json.ts";
import { readAtMost } from "../../lib/util/read_bounded.ts";
import {
  type ClusterImagePolicy,
  parseClusterImagePolicy,
  type ParsePolicyOptions,
} from "../../lib/admission/policy.ts";
import { type CompiledPolicy, refusingPolicy } from "../../lib/admission/authority.ts";

/** Options of {@link KubernetesPolicySource}. */
export interface KubernetesPolicySourceOptions {
  /** The API server, `https://host:port` (in a pod: `KUBERNETES_SERVICE_HOST`/`_PORT`). */
  readonly apiUrl: string;
  /** The bearer token, read anew for each listing (bound tokens rotate). */
  readonly token: () => Promise<string>;
  /** The fetch to use: one that trusts the cluster's CA. */
  readonly fetch: typeof fetch;
  /** Compile a validated policy for enforcement (throws what cannot be enforced). */
  readonly compile: (policy: ClusterImagePolicy) => Promise<CompiledPolicy>;
  /** Told about each new set of policies. */
  readonly onPolicies: (policies: CompiledPolicy[]) => void;
  /** Told about problems: a failed listing, a policy left out or refusing. */
  readonly onError?: (error: unknown) => void;
  /** Time between listings in milliseconds (default 15 s). */
  readonly pollMs?: number;
  /** How policies are validated. */
  readonly parseOptions?: Omit<ParsePolicyOptions, "origin">;
}

/** Most policies read. */
const MAX_POLICIES = 1000;
/** Page size asked for, and most pages followed. */
const PAGE = 250;
const MAX_PAGES = 8;
/** Most bytes of one page. */
const MAX_PAGE_BYTES = 16 << 20;

function failed(message: string, cause?: unknown): CosignError {
  return new CosignError("ADMISSION_POLICY_FETCH_FAILED", message, { cause });
}

/** One listing: every ClusterImagePolicy object, as JSON, and the list's resource version. *
 * @example Against a stand-in for the API server
 * ```ts
 * import assert from "node:assert/strict";
 * import { listClusterImagePolicyObjects } from "./kubernetes.ts";
 *
 * const api = (_input: RequestInfo | URL, init?: RequestInit) =>
 *   Promise.resolve(Response.json({
 *     kind: "ClusterImagePolicyList",
 *     metadata: { resourceVersion: "7" },
 *     items: [{ metadata: { name: "p", resourceVersion: "7" }, spec: { images: [{ glob: "**" }] } }],
 *     token: new Headers(init?.headers).get("authorization"),
 *   }));
 * const items = await listClusterImagePolicyObjects({
 *   apiUrl: "https://kubernetes.default.svc",
 *   token: () => Promise.resolve("t"),
 *   fetch: api,
 * });
 * assert.equal(items[0]?.kind, "ClusterImagePolicy"); // filled in from the list
 * ```
 */
export async function listClusterImagePolicyObjects(
  options: Pick<KubernetesPolicySourceOptions, "apiUrl" | "token" | "fetch">,
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let next: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const url = new URL("/apis/policy.sigstore.dev/v1beta1/clusterimagepolicies", options.apiUrl);
    url.searchParams.set("limit", String(PAGE));
    if (next) url.searchParams.set("continue", next);
    let response: Response;
    try {
      response = await options.fetch(url, {
        headers: { authorization: `Bearer ${await options.token()}`, accept: "application/json" },
        redirect: "error",
        signal: AbortSignal.timeout(10_000),
      });
    } catch (error) {
      throw failed(`Cannot list ClusterImagePolicies: ${errorMessage(error)}`, error);
    }
    const body = await readAtMost(response, MAX_PAGE_BYTES);
    if (!response.ok) {
      throw failed(`Cannot list ClusterImagePolicies: the API server answered ${response.status}`);
    }
    if (body === undefined) {
      throw failed(`A ClusterImagePolicy list page is over ${MAX_PAGE_BYTES} bytes`);
    }
    let list: unknown;
    try {
      list = JSON.parse(new TextDecoder().decode(body));
    } catch (error) {
      throw failed("The ClusterImagePolicy list is not JSON", error);
    }
    if (!isRecord(list) || !Array.isArray(list.items)) {
      throw failed("The ClusterImagePolicy list has no items");
    }
    for (const item of list.items) {
      if (!isRecord(item)) throw failed("A ClusterImagePolicy list item is not an object");
      // List items may leave out apiVersion and kind: they are the list's.
      items.push({
        apiVersion: "policy.sigstore.dev/v1beta1",
        kind: "ClusterImagePolicy",
        ...item,
      });
      if (items.length > MAX_POLICIES) {
        throw failed(`More than ${MAX_POLICIES} ClusterImagePolicies`);
      }
    }
    const metadata = isRecord(list.metadata) ? list.metadata : {};
    next = typeof metadata.continue === "string" && metadata.continue !== ""
      ? metadata.continue
      : undefined;
    if (!next) return items;
  }
  throw failed(`The ClusterImagePolicy list has more than ${MAX_PAGES} pages`);
}

/** The cluster's policies, kept current by polling. *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { compilePolicy, defaultPolicyEngine } from "@dcosign/dcosign";
 * import { KubernetesPolicySource } from "./kubernetes.ts";
 *
 * const list = {
 *   items: [{
 *     metadata: { name: "allow-all", resourceVersion: "1" },
 *     spec: { images: [{ glob: "**" }], authorities: [{ static: { action: "pass" } }] },
 *   }],
 * };
 * let names: string[] = [];
 * const source = new KubernetesPolicySource({
 *   apiUrl: "https://kubernetes.default.svc",
 *   token: () => Promise.resolve("service-account-token"),
 *   fetch: () => Promise.resolve(Response.json(list)),
 *   compile: (policy) => compilePolicy(policy, { trust: {}, engine: defaultPolicyEngine() }),
 *   onPolicies: (policies) => (names = policies.map((p) => p.policy.name)),
 * });
 * await source.refresh();
 * assert.deepEqual(names, ["allow-all"]);
 * assert.equal(source.loaded, true);
 * ```
 */
export class KubernetesPolicySource {
  readonly #options: KubernetesPolicySourceOptions;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #versions = "";
  #loaded = false;
  #stopped = false;

  /** A source; call {@link start}. */
  constructor(options: KubernetesPolicySourceOptions) {
    this.#options = options;
  }

  /** Whether a listing has succeeded (what `/readyz` waits for). */
  get loaded(): boolean {
    return this.#loaded;
  }

  /** List once (throwing if that fails), then keep polling until {@link stop}. */
  async start(): Promise<void> {
    await this.refresh();
    this.#schedule();
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(async () => {
      try {
        await this.refresh();
      } catch (error) {
        this.#options.onError?.(error);
      }
      this.#schedule();
    }, this.#options.pollMs ?? 15_000);
  }

  /** List now; when anything changed, compile and hand the new set to `onPolicies`. */
  async refresh(): Promise<void> {
    const objects = await listClusterImagePolicyObjects(this.#options);
    const versions = JSON.stringify(objects.map((o) => {
      const metadata = isRecord(o.metadata) ? o.metadata : {};
      return [metadata.name, metadata.resourceVersion, metadata.generation];
    }));
    if (this.#loaded && versions === this.#versions) return;
    const policies: CompiledPolicy[] = [];
    for (const object of objects) {
      const metadata = isRecord(object.metadata) ? object.metadata : {};
      const origin = `cluster: ClusterImagePolicy ${String(metadata.name ?? "(unnamed)")}`;
      let policy: ClusterImagePolicy;
      try {
        policy = parseClusterImagePolicy(object, { ...this.#options.parseOptions, origin });
      } catch (error) {
        this.#options.onError?.(error);
        continue;
      }
      try {
        policies.push(await this.#options.compile(policy));
      } catch (error) {
        this.#options.onError?.(error);
        policies.push(refusingPolicy(policy, errorMessage(error)));
      }
    }
    this.#versions = versions;
    this.#loaded = true;
    this.#options.onPolicies(policies);
  }

  /** Stop polling. */
  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
  }
}
