/**
 * The admission webhook's routes, a thin Hono layer over `lib/admission/review.ts`:
 *
 * | route | answers |
 * | --- | --- |
 * | `POST /validations` | the validating hook (AdmissionReview in, AdmissionReview out) |
 * | `POST /mutations` | the mutating hook (tags resolved to digests, as a JSONPatch) |
 * | `GET /healthz` | 200 while the process serves |
 * | `GET /readyz` | 200 once the policies are loaded, 503 before |
 * | `GET /metrics` | Prometheus text (`server/admission/metrics.ts`) |
 *
 * Review bodies are bounded (`MAX_REVIEW_BYTES`): `Content-Length` first, then the stream, so a
 * 10 MB request is refused (413) before it is buffered.
 *
 * @module
 */

import { type Context, Hono } from "../_deps.ts";
import { readRequestBody } from "../_request_body.ts";
import {
  answerMutation,
  answerValidation,
  MAX_REVIEW_BYTES,
  type ReviewAnswer,
} from "../../lib/admission/review.ts";
import type { AdmissionController } from "../../lib/admission/controller.ts";
import { AdmissionMetrics, type Hook } from "./metrics.ts";

/** Options of {@link admissionRoutes}. */
export interface AdmissionRoutesOptions {
  /** Whether `/readyz` answers 200 (default: always). */
  readonly ready?: () => boolean;
  /** Told about unexpected (500) errors. */
  readonly onError?: (error: unknown) => void;
}

/** The webhook as a request handler, and its metrics. */
export interface AdmissionApp {
  /** Answer one request (a `Deno.serve` handler, safe to pass unbound). */
  readonly fetch: (request: Request) => Response | Promise<Response>;
  /** The counters `/metrics` shows. */
  readonly metrics: AdmissionMetrics;
}

function json(body: unknown, status: number): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json" },
  });
}

/**
 * The webhook's Hono app over `controller`.
 *
 * @example Answer an AdmissionReview in-process
 * ```ts
 * import assert from "node:assert/strict";
 * import { AdmissionController } from "../../lib/admission/controller.ts";
 * import { RegistryClient } from "../../lib/oci/client.ts";
 * import { admissionRoutes } from "./routes.ts";
 *
 * // No policy and no-match-policy "allow": every image is admitted.
 * const controller = new AdmissionController({
 *   policies: [],
 *   client: new RegistryClient(),
 *   noMatchPolicy: "allow",
 * });
 * const app = admissionRoutes(controller);
 * const response = await app.fetch(new Request("http://webhook/validations", {
 *   method: "POST",
 *   headers: { "content-type": "application/json" },
 *   body: JSON.stringify({
 *     apiVersion: "admission.k8s.io/v1",
 *     kind: "AdmissionReview",
 *     request: {
 *       uid: "1",
 *       kind: { group: "", version: "v1", kind: "Pod" },
 *       operation: "CREATE",
 *       object: {
 *         apiVersion: "v1",
 *         kind: "Pod",
 *         spec: { containers: [{ name: "app", image: "ghcr.io/org/app@sha256:" + "a".repeat(64) }] },
 *       },
 *     },
 *   }),
 * }));
 * const review = await response.json();
 * assert.equal(review.response.allowed, true);
 * ```
 */
export function admissionRoutes(
  controller: AdmissionController,
  options: AdmissionRoutesOptions = {},
): AdmissionApp {
  const app = new Hono();
  const metrics = new AdmissionMetrics(() => ({
    ...controller.cache.stats,
    entries: controller.cache.size,
  }));
  app.use("*", async (c, next) => {
    await next();
    metrics.request(new URL(c.req.url).pathname, c.req.method, c.res.status);
  });
  const hook = (name: Hook, answer: typeof answerValidation) => async (c: Context) => {
    const started = performance.now();
    const type = c.req.header("content-type") ?? "";
    if (!/^application\/json\b/i.test(type)) {
      return json({ error: "an AdmissionReview is sent as application/json" }, 415);
    }
    const body = await readRequestBody(c.req.raw, MAX_REVIEW_BYTES);
    let result: ReviewAnswer;
    if (body === undefined) {
      result = {
        status: 413,
        body: { error: `an AdmissionReview is at most ${MAX_REVIEW_BYTES} bytes` },
        outcome: "error",
      };
    } else {
      result = await answer(controller, body);
    }
    metrics.review(name, result.outcome, (performance.now() - started) / 1000);
    return json(result.body, result.status);
  };
  app.post("/validations", hook("validations", answerValidation));
  app.post("/mutations", hook("mutations", answerMutation));
  app.get("/healthz", () => new Response("ok\n"));
  app.get("/readyz", () => {
    const ready = options.ready?.() ?? true;
    return new Response(ready ? "ok\n" : "policies not loaded\n", { status: ready ? 200 : 503 });
  });
  app.get("/metrics", () =>
    new Response(metrics.render(), {
      headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
    }));
  app.all("/validations", () => json({ error: "use POST" }, 405));
  app.all("/mutations", () => json({ error: "use POST" }, 405));
  app.notFound(() => json({ error: "not found" }, 404));
  app.onError((error) => {
    options.onError?.(error);
    return json({ error: "internal error" }, 500);
  });
  return { fetch: (request) => app.fetch(request), metrics };
}
