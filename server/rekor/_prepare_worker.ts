/**
 * Worker thread entry of `_prepare_pool.ts`: prepares proposed entries (`_prepare.ts`) and signs
 * SETs off the log's thread (WebCrypto ECDSA signs synchronously in the calling thread in Deno
 * 2.9). The first message is `{ key }` (the log key as PKCS#8); then each is `{ id, proposed }`
 * or `{ id, sign }` (bytes to sign), answered `{ id, entry }` (the body's buffer transferred),
 * `{ id, signature }` or `{ id, error: { code?, message } }`.
 *
 * @module
 */

import { prepareEntry } from "./_prepare.ts";
import { errorMessage, isCosignError } from "../../lib/errors.ts";
import { PrivateKey } from "../../lib/keys/private_key.ts";

type Job =
  | { readonly key: Uint8Array }
  | { readonly id: number; readonly proposed: unknown }
  | { readonly id: number; readonly sign: Uint8Array };

let key: Promise<PrivateKey> | undefined;

const scope = globalThis as unknown as {
  onmessage: ((event: MessageEvent<Job>) => void) | null;
  postMessage(message: unknown, transfer?: Transferable[]): void;
};

scope.onmessage = async ({ data }) => {
  if ("key" in data) {
    key = PrivateKey.fromDer(data.key, "pkcs8");
    return;
  }
  const { id } = data;
  try {
    if ("sign" in data) {
      if (!key) throw new Error("no log key");
      const signature = await (await key).sign(data.sign);
      scope.postMessage({ id, signature }, [signature.buffer]);
      return;
    }
    const entry = await prepareEntry(data.proposed);
    scope.postMessage({ id, entry }, [entry.body.buffer]);
  } catch (error) {
    const code = isCosignError(error) ? error.code : undefined;
    scope.postMessage({ id, error: { ...(code ? { code } : {}), message: errorMessage(error) } });
  }
};
