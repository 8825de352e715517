/**
 * What the services' route groups share: the handler type, and the wrapper that turns what a
 * handler throws into the service's error answer (each service decides the body and status).
 *
 * @module
 */

import type { Context } from "./_deps.ts";

/** A route handler. */
export type RouteHandler = (c: Context) => Response | Promise<Response>;

/** Wraps a handler so that what it throws becomes the service's error answer. */
export type RouteWrapper = (handler: RouteHandler) => (c: Context) => Promise<Response>;

/** The `RouteWrapper` that answers a thrown error with `answer(error, c)`. */
export function answeringErrors(answer: (error: unknown, c: Context) => Response): RouteWrapper {
  return (handler) => async (c) => {
    try {
      return await handler(c);
    } catch (error) {
      return answer(error, c);
    }
  };
}
