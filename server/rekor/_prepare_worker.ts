/**
 * Worker thread entry of `_prepare_pool.ts`: prepares proposed entries (`_prepare.ts`) off the
 * log's thread. Each message is `{ id, proposed }`; each answer `{ id, entry }` (the body's
 * buffer transferred) or `{ id, error: { code?, message } }`.
 *
 * @module
 */

import { prepareEntry } from "./_prepare.ts";
import { errorMessage, isCosignError } from "../../lib/errors.ts";

interface Job {
  readonly id: number;
  readonly proposed: unknown;
}

const scope = globalThis as unknown as {
  onmessage: ((event: MessageEvent<Job>) => void) | null;
  postMessage(message: unknown, transfer?: Transferable[]): void;
};

scope.onmessage = async ({ data: { id, proposed } }) => {
  try {
    const entry = await prepareEntry(proposed);
    scope.postMessage({ id, entry }, [entry.body.buffer]);
  } catch (error) {
    const code = isCosignError(error) ? error.code : undefined;
    scope.postMessage({ id, error: { ...(code ? { code } : {}), message: errorMessage(error) } });
  }
};
