/**
 * The webhook's `/metrics`, in the Prometheus text exposition format (version 0.0.4): requests,
 * review outcomes, latency histograms and the results cache's counters.
 *
 * Every label takes its value from a closed set (SECURITY.md row 28, the timestamp-authority
 * advisory where raw paths and methods as labels grew without bound): the path is one of the
 * routes or `other`, the method `GET`, `POST` or `other`, the status code one this server
 * sends, the hook and outcome come from fixed lists. Nothing an unauthenticated caller sends
 * can create a new series.
 *
 * @module
 */

import type { CacheStats } from "../../lib/admission/cache.ts";
import type { ReviewOutcome } from "../../lib/admission/review.ts";

/** The routes counted by name; any other path is `other`. */
export const ROUTES = ["/validations", "/mutations", "/healthz", "/readyz", "/metrics"] as const;

/** The hooks. */
export type Hook = "validations" | "mutations";

const METHODS = new Set(["GET", "POST"]);
const OUTCOMES: readonly ReviewOutcome[] = [
  "allowed",
  "warned",
  "denied",
  "patched",
  "skipped",
  "error",
];
/** Latency buckets in seconds: warm answers are milliseconds, cold ones up to the deadline. */
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

class Histogram {
  readonly counts = new Array<number>(BUCKETS.length).fill(0);
  sum = 0;
  count = 0;
  observe(seconds: number): void {
    this.sum += seconds;
    this.count++;
    const index = BUCKETS.findIndex((le) => seconds <= le);
    if (index >= 0) this.counts[index]!++;
  }
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function labels(pairs: Record<string, string>): string {
  return `{${Object.entries(pairs).map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(",")}}`;
}

/** The webhook's counters. *
 * @example Unknown paths and methods fold into `other`
 * ```ts
 * import assert from "node:assert/strict";
 * import { AdmissionMetrics } from "./metrics.ts";
 *
 * const metrics = new AdmissionMetrics(() => ({ hits: 0, misses: 0, coalesced: 0, evictions: 0, entries: 0 }));
 * metrics.request("/validations", "POST", 200);
 * metrics.request("/a-path-nobody-routes", "BREW", 404);
 * metrics.review("validations", "allowed", 0.004);
 * const text = metrics.render();
 * assert.match(text, /dcosign_admission_http_requests_total\{path="other",method="other",code="404"\} 1/);
 * assert.match(text, /dcosign_admission_reviews_total\{hook="validations",outcome="allowed"\} 1/);
 * ```
 */
export class AdmissionMetrics {
  readonly #http = new Map<string, number>();
  readonly #reviews = new Map<string, number>();
  readonly #latency = new Map<Hook, Histogram>([
    ["validations", new Histogram()],
    ["mutations", new Histogram()],
  ]);
  readonly #cache: () => CacheStats & { entries: number };

  /** Metrics reading the cache's counters from `cache` when rendered. */
  constructor(cache: () => CacheStats & { entries: number }) {
    this.#cache = cache;
  }

  /** Count one HTTP request; the path and method are folded into their closed sets. */
  request(path: string, method: string, status: number): void {
    const route = (ROUTES as readonly string[]).includes(path) ? path : "other";
    const verb = METHODS.has(method) ? method : "other";
    // Status codes are this server's own; still fold anything unusual into its class.
    const code = status >= 100 && status < 600 ? String(status) : "other";
    const key = JSON.stringify([route, verb, code]);
    this.#http.set(key, (this.#http.get(key) ?? 0) + 1);
  }

  /** Count one review and its latency. */
  review(hook: Hook, outcome: ReviewOutcome, seconds: number): void {
    const key = JSON.stringify([hook, OUTCOMES.includes(outcome) ? outcome : "error"]);
    this.#reviews.set(key, (this.#reviews.get(key) ?? 0) + 1);
    this.#latency.get(hook)!.observe(seconds);
  }

  /** The exposition text. */
  render(): string {
    const lines: string[] = [];
    const family = (name: string, type: string, help: string) => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    };
    family(
      "dcosign_admission_http_requests_total",
      "counter",
      "HTTP requests by route, method and status code.",
    );
    for (const [key, value] of [...this.#http].sort()) {
      const [path, method, code] = JSON.parse(key) as [string, string, string];
      lines.push(`dcosign_admission_http_requests_total${labels({ path, method, code })} ${value}`);
    }
    family(
      "dcosign_admission_reviews_total",
      "counter",
      "AdmissionReviews answered, by hook and outcome.",
    );
    for (const [key, value] of [...this.#reviews].sort()) {
      const [hook, outcome] = JSON.parse(key) as [string, string];
      lines.push(`dcosign_admission_reviews_total${labels({ hook, outcome })} ${value}`);
    }
    const latency = "dcosign_admission_review_duration_seconds";
    family(latency, "histogram", "Time to answer an AdmissionReview.");
    for (const [hook, histogram] of this.#latency) {
      let cumulative = 0;
      BUCKETS.forEach((le, i) => {
        cumulative += histogram.counts[i]!;
        lines.push(`${latency}_bucket${labels({ hook, le: String(le) })} ${cumulative}`);
      });
      lines.push(`${latency}_bucket${labels({ hook, le: "+Inf" })} ${histogram.count}`);
      lines.push(`${latency}_sum${labels({ hook })} ${histogram.sum}`);
      lines.push(`${latency}_count${labels({ hook })} ${histogram.count}`);
    }
    const cache = this.#cache();
    const counters: [string, number, string][] = [
      ["hits", cache.hits, "Image verdicts answered from the cache."],
      ["misses", cache.misses, "Image verdicts computed."],
      ["coalesced", cache.coalesced, "Image verdicts that joined a computation already running."],
      ["evictions", cache.evictions, "Cached verdicts dropped to stay within the size bound."],
    ];
    for (const [name, value, help] of counters) {
      family(`dcosign_admission_cache_${name}_total`, "counter", help);
      lines.push(`dcosign_admission_cache_${name}_total ${value}`);
    }
    family("dcosign_admission_cache_entries", "gauge", "Verdicts held in the cache.");
    lines.push(`dcosign_admission_cache_entries ${cache.entries}`);
    return `${lines.join("\n")}\n`;
  }
}
