/**
 * Reading a body with a byte budget (SECURITY.md rule 4): the declared `Content-Length` is
 * checked first, then the stream is read against the same budget and cancelled the moment it
 * passes it, so nothing oversized is ever buffered. Every client and server body reader of the
 * project that is not digest-checked goes through this one function, and the library's own
 * file reads (the docker config) through `readFileAtMost`, which applies the same budget to a
 * FIFO or a device such as `/dev/zero` as to a regular file.
 *
 * @module
 */

import { type Bytes, concatAll } from "./bytes.ts";

/** A request or response: a body and its headers. */
export interface BodySource {
  readonly body: ReadableStream<Uint8Array> | null;
  readonly headers: Headers;
}

/**
 * All of `message`'s body if it holds at most `limit` bytes, else `undefined` (the rest is
 * cancelled). A missing body reads as empty; a malformed `Content-Length` as too large.
 */
export async function readAtMost(message: BodySource, limit: number): Promise<Bytes | undefined> {
  const declared = message.headers.get("content-length");
  if (declared !== null && (!/^\d{1,16}$/.test(declared.trim()) || Number(declared) > limit)) {
    await message.body?.cancel().catch(() => {});
    return undefined;
  }
  if (message.body === null) return new Uint8Array(0);
  const reader = message.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return concatAll(chunks);
      size += value.length;
      if (size > limit) {
        await reader.cancel().catch(() => {});
        return undefined;
      }
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
}

/**
 * All of the file at `path` if it holds at most `limit` bytes, else `undefined`. A regular
 * file's size is checked before reading; anything else (a FIFO, a device, a file growing while
 * read) is read against the budget and given up the moment it passes it. A directory is a
 * `TypeError`; file system errors (`Deno.errors.NotFound`, ...) propagate.
 */
export async function readFileAtMost(path: string, limit: number): Promise<Bytes | undefined> {
  using file = await Deno.open(path, { read: true });
  const info = await file.stat();
  if (info.isDirectory) throw new TypeError("it is a directory");
  if (info.isFile && info.size > limit) return undefined;
  return await readAtMost({ body: file.readable, headers: new Headers() }, limit);
}
