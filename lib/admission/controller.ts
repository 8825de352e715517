/**
 * The admission decision, as policy-controller makes it (`pkg/webhook/validator.go`):
 *
 * - every image of a workload must be given by digest (a tag can move after admission);
 * - the policies that apply to an image are those whose `match` selects the resource (or that
 *   have none) and one of whose globs matches the image's full name;
 * - an image must satisfy every policy that applies, and a policy is satisfied when at least one
 *   of its authorities is, and then its spec-level `policy` (if any) accepts the
 *   `PolicyResult` (`authorityMatches`, and with the `include*` flags the resource's `spec`,
 *   `metadata` and `typemeta`, with `fetchConfigFile` the images' OCI config files);
 * - an image no policy applies to follows `noMatchPolicy` (allow, warn or deny);
 * - a `warn` mode policy that fails gives warnings, not a denial.
 *
 * What an image digest gave against one policy version is cached (`ResultCache`, single-flight).
 * Every review has a deadline well inside the API server's webhook timeout; a check that could
 * not finish (deadline, registry down, a crash) is "undecided", and `failOpen` chooses whether
 * that admits (with a warning) or denies (the default). Denials have one entry per failing image
 * path, in knative's words: `failed policy: NAME: spec.containers[0].image` and the reasons.
 *
 * @module
 */

import { CosignError, errorMessage } from "../errors.ts";
import { isRecord } from "../util/json.ts";
import type { RegistryClient } from "../oci/client.ts";
import {
  formatImageReference,
  type ImageReference,
  parseImageReference,
  withDigest,
} from "../oci/reference.ts";
import { isIndexMediaType, parseIndex, parseManifest } from "../oci/manifest.ts";
import { asWarning, type FieldProblem, genericProblem, invalidValue } from "./field_errors.ts";
import { matchesLabels } from "./labels.ts";
import { compileImageGlob } from "./glob.ts";
import {
  type AuthorityMatch,
  checkAuthority,
  type CompiledPolicy,
  isUndecided,
} from "./authority.ts";
import { ResultCache } from "./cache.ts";
import type { Workload } from "./workload.ts";

/** Error codes raised here. */
export type AdmissionControllerErrorCode = "ADMISSION_TIMEOUT" | "ADMISSION_POLICY_FAILED";

/**
 * A fetch whose every request is aborted after `ms` milliseconds with `ADMISSION_TIMEOUT`: the
 * registry client of the webhook, so a registry that hangs cannot hold a review past its
 * deadline (the body read is covered too: the signal stays armed until it completes).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fetchWithTimeout, isCosignError } from "@dcosign/dcosign";
 *
 * // A registry that never answers (it only gives up when aborted).
 * const hanging: typeof fetch = (_input, init) =>
 *   new Promise((_resolve, reject) => init?.signal?.addEventListener("abort", () => reject(init.signal!.reason)));
 * await assert.rejects(
 *   fetchWithTimeout(hanging, 50)("https://registry.example/v2/"),
 *   (error) => isCosignError(error, "ADMISSION_TIMEOUT"),
 * );
 * ```
 */
export function fetchWithTimeout(inner: typeof fetch, ms: number): typeof fetch {
  return async (input, init) => {
    const timer = AbortSignal.timeout(ms);
    const signal = init?.signal ? AbortSignal.any([init.signal, timer]) : timer;
    try {
      return await inner(input, { ...init, signal });
    } catch (error) {
      if (timer.aborted) {
        throw new CosignError(
          "ADMISSION_TIMEOUT",
          `The registry did not answer within ${(ms / 1000).toFixed(1)}s`,
          { cause: error },
        );
      }
      throw error;
    }
  };
}

/** What to do with an image no policy applies to (policy-controller `no-match-policy`). */
export type NoMatchPolicy = "allow" | "warn" | "deny";

/** The cached part of checking an image against one policy: its authorities' outcomes. */
export interface AuthorityResults {
  /** The authorities that passed, by name (`PolicyResult.authorityMatches`). */
  readonly matches: Readonly<Record<string, AuthorityMatch>>;
  /** Why the others failed. */
  readonly errors: readonly string[];
  /** True when none passed and at least one could not finish. */
  readonly undecided: boolean;
  /** OCI config files by platform (`fetchConfigFile`). */
  readonly config?: Readonly<Record<string, unknown>>;
}

/** The verdict of one policy on one image. */
export interface PolicyVerdict {
  /** The policy's name. */
  readonly policy: string;
  /** Its mode. */
  readonly mode: "enforce" | "warn";
  /** Whether the image satisfies it. */
  readonly passed: boolean;
  /** Whether the check could not finish (then `failOpen` decides). */
  readonly undecided: boolean;
  /** Why it failed (empty when it passed). */
  readonly errors: readonly string[];
  /** The `PolicyResult` document (when an authority passed). */
  readonly result?: Readonly<Record<string, unknown>>;
}

/** The decision about one image. */
export interface ImageDecision {
  /** The reference as written. */
  readonly image: string;
  /** The policies that apply, and their verdicts. */
  readonly verdicts: readonly PolicyVerdict[];
  /** Problems to report (errors deny, warnings only warn). */
  readonly problems: readonly FieldProblem[];
}

/** The decision about a workload (or one image, for `admission test`). */
export interface Decision {
  /** No error-level problem. */
  readonly allowed: boolean;
  /** Each image's decision, in the workload's order. */
  readonly images: readonly ImageDecision[];
  /** Every problem, errors and warnings. */
  readonly problems: readonly FieldProblem[];
}

/** Options of {@link AdmissionController}. */
export interface AdmissionControllerOptions {
  /** The compiled policies enforced. */
  readonly policies: readonly CompiledPolicy[];
  /** The registry client (shared: it caches tokens). */
  readonly client: RegistryClient;
  /** Default `deny`, policy-controller's default. */
  readonly noMatchPolicy?: NoMatchPolicy;
  /** Admit (with a warning) what could not be decided; default false: deny it. */
  readonly failOpen?: boolean;
  /** Deadline of one review in milliseconds (default 8,000: the API server waits 10 s). */
  readonly timeoutMs?: number;
  /** How long a verdict is cached (default 5 minutes). */
  readonly cacheTtlMs?: number;
  /** How long a failed verdict is cached (default 30 s, so newly signed images pass soon). */
  readonly negativeCacheTtlMs?: number;
  /** Most cached verdicts (default 10,000). */
  readonly cacheEntries?: number;
  /** Images checked at once within a review (default 16). */
  readonly concurrency?: number;
  /** The clock (default now). */
  readonly now?: () => Date;
}

/** Options of one check. */
export interface CheckOptions {
  /** The workload the images belong to: resource matching and the `include*` flags. */
  readonly workload?: Workload;
}

interface CompiledEntry {
  readonly compiled: CompiledPolicy;
  readonly globs: readonly RegExp[];
}

/** Most problems shown in one denial message; the rest are counted. */
export const MAX_REPORTED_PROBLEMS = 20;

/** The image decisions: checks images against the policies, with caching and deadlines. *
 * @example Decide an image signed with the policy's key, and a tag (refused)
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   AdmissionController,
 *   compilePolicy,
 *   defaultPolicyEngine,
 *   formatProblems,
 *   generateKeyPair,
 *   parseClusterImagePolicy,
 *   RegistryClient,
 *   sign,
 * } from "@dcosign/dcosign";
 * import { startStack } from "@dcosign/dcosign/server";
 * import { buildExampleImage } from "../oci/example_image.ts";
 *
 * await using stack = await startStack();
 * const client = new RegistryClient();
 * const pushed = await buildExampleImage(client, `${stack.registryHost}/docs/app:1`);
 * const image = `${stack.registryHost}/docs/app@${pushed.digest}`;
 * const key = await generateKeyPair();
 * await sign(image, { signer: key, registry: client });
 * const policy = parseClusterImagePolicy({
 *   apiVersion: "policy.sigstore.dev/v1beta1",
 *   kind: "ClusterImagePolicy",
 *   metadata: { name: "release-key" },
 *   spec: { images: [{ glob: "**docs**" }], authorities: [{ key: { data: key.publicKey.toPem() } }] },
 * });
 * const compiled = await compilePolicy(policy, { trust: {}, engine: defaultPolicyEngine() });
 * const controller = new AdmissionController({ policies: [compiled], client });
 *
 * const signed = await controller.checkImage(image, "spec.containers[0].image");
 * assert.deepEqual(signed.problems, []);
 * assert.equal(signed.verdicts[0]?.passed, true);
 * const tag = await controller.checkImage(`${stack.registryHost}/docs/app:1`, "spec.containers[0].image");
 * assert.match(formatProblems(tag.problems)[0]!, /must be an image digest/);
 * ```
 */
export class AdmissionController {
  #entries: readonly CompiledEntry[];
  readonly #client: RegistryClient;
  readonly #noMatch: NoMatchPolicy;
  readonly #failOpen: boolean;
  readonly #timeoutMs: number;
  readonly #negativeTtl: number;
  readonly #concurrency: number;
  readonly #now: () => Date;
  /** The verdict cache (its `stats` feed `/metrics`). */
  readonly cache: ResultCache<AuthorityResults>;

  /** A controller over compiled policies; see {@link AdmissionControllerOptions}. */
  constructor(options: AdmissionControllerOptions) {
    this.#entries = entriesOf(options.policies);
    this.#client = options.client;
    this.#noMatch = options.noMatchPolicy ?? "deny";
    this.#failOpen = options.failOpen ?? false;
    this.#timeoutMs = options.timeoutMs ?? 8000;
    this.#negativeTtl = options.negativeCacheTtlMs ?? 30_000;
    this.#concurrency = Math.max(1, options.concurrency ?? 16);
    this.#now = options.now ?? (() => new Date());
    this.cache = new ResultCache({
      ttlMs: options.cacheTtlMs ?? 5 * 60_000,
      maxEntries: options.cacheEntries ?? 10_000,
    });
  }

  /** The deadline of one review, in milliseconds. */
  get timeoutMs(): number {
    return this.#timeoutMs;
  }

  /** Whether undecided checks admit. */
  get failOpen(): boolean {
    return this.#failOpen;
  }

  /** The policies enforced. */
  get policies(): readonly CompiledPolicy[] {
    return this.#entries.map((e) => e.compiled);
  }

  /**
   * Enforce `policies` from now on (a reload). Reviews already running finish with the set
   * they started with; cached verdicts stay valid, since their keys hold each policy's version.
   */
  setPolicies(policies: readonly CompiledPolicy[]): void {
    this.#entries = entriesOf(policies);
  }

  /** The policies that apply to `image` (its full name) in `workload`'s resource. */
  matchingPolicies(name: string, workload?: Workload): CompiledPolicy[] {
    return this.#entries.filter(({ compiled, globs }) => {
      const { match } = compiled.policy;
      if (match.length > 0) {
        if (!workload) return false;
        const selected = match.some((m) =>
          m.resource === workload.resource &&
          (m.version === workload.version || m.version === "*") &&
          m.group === workload.group &&
          (!m.selector || matchesLabels(m.selector, workload.labels))
        );
        if (!selected) return false;
      }
      return globs.some((glob) => glob.test(name));
    }).map((e) => e.compiled);
  }

  /** The authorities' outcomes for a digest against one policy, from the cache or computed. */
  async #authorityResults(
    entry: CompiledPolicy,
    image: ImageReference,
  ): Promise<AuthorityResults> {
    const name = formatImageReference(image);
    const key = `${name}\u0000${entry.policy.name}\u0000${entry.policy.version}`;
    return await this.cache.get(key, async () => {
      const context = { client: this.#client, now: this.#now() };
      const outcomes = await Promise.all(
        entry.authorities.map(async (authority) => {
          try {
            return await checkAuthority(authority, image, context);
          } catch (error) {
            // A crash inside verification is never a pass, and never a verdict either.
            return {
              ok: false as const,
              error: `authority ${authority.name} for ${name}: ${errorMessage(error)}`,
              undecided: true,
            };
          }
        }),
      );
      const matches: Record<string, AuthorityMatch> = {};
      const errors: string[] = [];
      let undecided = false;
      outcomes.forEach((outcome, index) => {
        if (outcome.ok) matches[entry.authorities[index]!.name] = outcome.match;
        else {
          errors.push(outcome.error);
          if (outcome.undecided) undecided = true;
        }
      });
      const passed = Object.keys(matches).length > 0;
      let config: Record<string, unknown> | undefined;
      if (passed && entry.policy.policy?.fetchConfigFile) {
        try {
          config = await fetchConfigFiles(this.#client, image);
        } catch (error) {
          const value = {
            matches: {},
            errors: [...errors, `fetching the config files of ${name}: ${errorMessage(error)}`],
            undecided: isUndecided(error),
          };
          return { value, ttlMs: value.undecided ? 0 : this.#negativeTtl };
        }
      }
      const value: AuthorityResults = {
        matches,
        errors,
        undecided: !passed && undecided,
        ...(config ? { config } : {}),
      };
      // Undecided results are not kept: the next review tries again.
      if (passed) return { value };
      return { value, ttlMs: value.undecided ? 0 : this.#negativeTtl };
    });
  }

  async #verdict(
    entry: CompiledPolicy,
    image: ImageReference,
    workload: Workload | undefined,
  ): Promise<PolicyVerdict> {
    const { policy } = entry;
    const base = { policy: policy.name, mode: policy.mode };
    let results: AuthorityResults;
    try {
      results = await this.#authorityResults(entry, image);
    } catch (error) {
      return { ...base, passed: false, undecided: true, errors: [errorMessage(error)] };
    }
    if (Object.keys(results.matches).length === 0) {
      return { ...base, passed: false, undecided: results.undecided, errors: results.errors };
    }
    const document: Record<string, unknown> = { authorityMatches: results.matches };
    if (results.config) document.config = results.config;
    const spec = policy.policy;
    if (spec?.includeSpec && workload?.spec !== undefined) document.spec = workload.spec;
    if (spec?.includeObjectMeta && workload) document.metadata = workload.metadata;
    if (spec?.includeTypeMeta && workload) document.typemeta = workload.typeMeta;
    if (entry.program) {
      // The document goes through JSON, as policy-controller marshals its PolicyResult.
      const input = JSON.parse(JSON.stringify(document));
      let verdict;
      try {
        verdict = await entry.program.evaluate(input);
      } catch (error) {
        return {
          ...base,
          passed: false,
          undecided: isUndecided(error),
          errors: [errorMessage(error)],
        };
      }
      if (!verdict.pass) {
        return {
          ...base,
          passed: false,
          undecided: false,
          errors: [...results.errors, verdict.error],
        };
      }
    }
    return { ...base, passed: true, undecided: false, errors: [], result: document };
  }

  /**
   * Decide one image reference at `path` (`spec.containers[0].image`, or `image` for the
   * tester): digest required, matching policies, each policy's verdict, the problems to report.
   */
  async checkImage(
    image: string,
    path: string,
    options: CheckOptions = {},
  ): Promise<ImageDecision> {
    const problems: FieldProblem[] = [];
    let ref: ImageReference;
    try {
      ref = parseImageReference(image);
    } catch (error) {
      problems.push(genericProblem(errorMessage(error), [path]));
      return { image, verdicts: [], problems };
    }
    if (ref.digest === undefined) {
      // A tag can move between the check and the pull: only a digest names what runs.
      problems.push(invalidValue(`${image} must be an image digest`, path));
      return { image, verdicts: [], problems };
    }
    const name = formatImageReference(ref);
    const policies = this.matchingPolicies(name, options.workload);
    if (policies.length === 0) {
      if (this.#noMatch !== "allow") {
        const problem = genericProblem("no matching policies", [path], image);
        problems.push(this.#noMatch === "warn" ? asWarning(problem) : problem);
      }
      return { image, verdicts: [], problems };
    }
    const verdicts = await Promise.all(
      policies.map((entry) => this.#verdict(entry, ref, options.workload)),
    );
    for (const verdict of verdicts) {
      if (verdict.passed) continue;
      const problem = genericProblem(
        `failed policy: ${verdict.policy}`,
        [path],
        [image, ...verdict.errors].join(" "),
      );
      const warn = verdict.mode === "warn" || (verdict.undecided && this.#failOpen);
      problems.push(warn ? asWarning(problem) : problem);
    }
    return { image, verdicts, problems };
  }

  /**
   * Decide a workload: every image reference it holds, at most `concurrency` at a time, within
   * the review's deadline (images still running when it passes are undecided).
   */
  async checkWorkload(workload: Workload, signal?: AbortSignal): Promise<Decision> {
    const deadline = signal ?? AbortSignal.timeout(this.#timeoutMs);
    const images = workload.images;
    const decisions: ImageDecision[] = new Array(images.length);
    // Identical references are decided once (and reported at each path).
    const byImage = new Map<string, Promise<ImageDecision>>();
    let next = 0;
    const timedOut = new Promise<"timeout">((resolve) => {
      if (deadline.aborted) resolve("timeout");
      deadline.addEventListener("abort", () => resolve("timeout"), { once: true });
    });
    const worker = async () => {
      while (next < images.length) {
        const index = next++;
        const item = images[index]!;
        let pending = byImage.get(item.image);
        if (!pending) {
          pending = this.checkImage(item.image, "image", { workload });
          byImage.set(item.image, pending);
        }
        const outcome = await Promise.race([pending, timedOut]);
        if (outcome === "timeout") {
          const seconds = (this.#timeoutMs / 1000).toFixed(1);
          const problem = genericProblem(
            `could not decide within ${seconds}s`,
            [item.path],
            `${item.image} the check did not finish in time`,
          );
          decisions[index] = {
            image: item.image,
            verdicts: [],
            problems: [this.#failOpen ? asWarning(problem) : problem],
          };
          continue;
        }
        decisions[index] = relocate(outcome, item.path);
      }
    };
    await Promise.all(
      Array.from({ length: Math.min(this.#concurrency, images.length) }, worker),
    );
    const problems = decisions.flatMap((d) => d.problems);
    return { allowed: !problems.some((p) => p.level === "error"), images: decisions, problems };
  }

  /**
   * The digests of the tag references among `images` (the mutating hook), resolved at most
   * `concurrency` at a time within the review's deadline; a reference that is already a digest,
   * unparseable, or not resolved in time is left out.
   */
  async resolveTags(images: readonly string[], signal?: AbortSignal): Promise<Map<string, string>> {
    const deadline = signal ?? AbortSignal.timeout(this.#timeoutMs);
    const pending = [...new Set(images)].flatMap((image) => {
      try {
        const ref = parseImageReference(image);
        return ref.digest === undefined ? [{ image, ref }] : [];
      } catch {
        return [];
      }
    });
    const out = new Map<string, string>();
    const timedOut = new Promise<void>((resolve) => {
      if (deadline.aborted) resolve();
      deadline.addEventListener("abort", () => resolve(), { once: true });
    });
    let next = 0;
    const worker = async () => {
      while (next < pending.length && !deadline.aborted) {
        const { image, ref } = pending[next++]!;
        try {
          const digest = await Promise.race([this.#client.resolveDigest(ref), timedOut]);
          if (typeof digest === "string") out.set(image, digest);
        } catch {
          // Left unresolved: the validating hook refuses a tag.
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#concurrency, pending.length) }, worker));
    return out;
  }
}

function entriesOf(policies: readonly CompiledPolicy[]): CompiledEntry[] {
  return policies.map((compiled) => ({
    compiled,
    globs: compiled.policy.images.map((image) => compileImageGlob(image.glob)),
  }));
}

/** The decision with its problems moved from `image` to the container's path. */
function relocate(decision: ImageDecision, path: string): ImageDecision {
  return {
    ...decision,
    problems: decision.problems.map((p) => ({
      ...p,
      paths: p.paths.map((at) => (at === "image" ? path : at)),
    })),
  };
}

/** `os/architecture[/variant]` of an OCI config file, as ggcr's `Platform.String()` writes it. */
function platformOf(config: Record<string, unknown>): string {
  const os = typeof config.os === "string" ? config.os : "";
  const arch = typeof config.architecture === "string" ? config.architecture : "";
  const variant = typeof config.variant === "string" && config.variant ? `/${config.variant}` : "";
  return `${os}/${arch}${variant}`;
}

/** Most bytes of an OCI config file read. */
const MAX_CONFIG_BYTES = 4 << 20;

/**
 * The OCI config files of an image by platform (`linux/amd64`): its own, or each of an index's
 * images' (policy-controller `getConfigs`).
 */
export async function fetchConfigFiles(
  client: RegistryClient,
  image: ImageReference,
): Promise<Record<string, unknown>> {
  const fetched = await client.getManifest(image);
  const document: unknown = JSON.parse(new TextDecoder().decode(fetched.bytes));
  const isIndex = isIndexMediaType(fetched.descriptor.mediaType) ||
    (isRecord(document) && Array.isArray(document.manifests));
  const out: Record<string, unknown> = {};
  const readConfig = async (ref: ImageReference, bytes: Uint8Array) => {
    const manifest = parseManifest(bytes);
    const blob = await client.getBlob(ref, manifest.config.digest, {
      size: manifest.config.size,
      maxBytes: MAX_CONFIG_BYTES,
    });
    const config: unknown = JSON.parse(new TextDecoder().decode(blob));
    if (!isRecord(config)) {
      throw new CosignError(
        "ADMISSION_POLICY_FAILED",
        `the config file of ${formatImageReference(ref)} is not a JSON object`,
      );
    }
    Object.defineProperty(out, platformOf(config), { value: config, enumerable: true });
  };
  if (!isIndex) {
    await readConfig(image, fetched.bytes);
    return out;
  }
  const index = parseIndex(fetched.bytes);
  for (const child of index.manifests) {
    const ref = withDigest(image, child.digest);
    const manifest = await client.getManifest(ref);
    await readConfig(ref, manifest.bytes);
  }
  return out;
}
