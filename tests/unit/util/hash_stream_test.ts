/**
 * lib/util/hash_stream.ts: streaming digests equal one-shot digests across chunk boundaries, every
 * source gives the same answer, sizes are bounded before anything is kept, and progress is
 * reported as the bytes go by.
 */

import assert from "node:assert/strict";
import { digest, toHex } from "../../../lib/util/bytes.ts";
import {
  digestOf,
  HASH_CHUNK_BYTES,
  hashBlob,
  hashBytes,
  hashFile,
  type HashProgress,
  hashStream,
} from "../../../lib/util/hash_stream.ts";
import { isCosignError } from "../../../lib/errors.ts";
import { fc } from "../../_deps.ts";
import { tempDir } from "../../_support.ts";

function patterned(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + (i >> 8)) & 0xff;
  return bytes;
}

function streamOf(bytes: Uint8Array, piece: number): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(offset, offset + piece));
      offset += piece;
    },
  });
}

Deno.test("hashFile() equals one-shot SHA-2 digests at and around the chunk boundary", async () => {
  await using dir = await tempDir();
  for (const size of [0, 1, HASH_CHUNK_BYTES - 1, HASH_CHUNK_BYTES, 2 * HASH_CHUNK_BYTES + 7]) {
    const bytes = patterned(size);
    const path = `${dir.path}/blob-${size}`;
    await Deno.writeFile(path, bytes);
    const hashed = await hashFile(path, { algorithms: ["sha256", "sha384", "sha512"] });
    assert.equal(hashed.size, size);
    for (const algorithm of ["sha256", "sha384", "sha512"] as const) {
      assert.equal(toHex(digestOf(hashed, algorithm)), toHex(digest(algorithm, bytes)), `${size}`);
    }
    assert.equal(hashed.bytes, undefined, "bytes are kept only on request");
  }
});

Deno.test("hashStream() and hashBytes() agree with one-shot digests for any input and chunking", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.uint8Array({ maxLength: 4096 }),
      fc.integer({ min: 1, max: 1024 }),
      async (bytes, piece) => {
        const expected = toHex(digest("sha256", bytes));
        const streamed = await hashStream(streamOf(bytes, piece), { keepBytes: 4096 });
        assert.equal(toHex(digestOf(streamed, "sha256")), expected);
        assert.deepEqual(streamed.bytes, Uint8Array.from(bytes));
        assert.equal(toHex(digestOf(hashBytes(bytes), "sha256")), expected);
      },
    ),
    { numRuns: 100 },
  );
});

Deno.test("hashFile() refuses a file over maxBytes or keepBytes before reading it", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/blob`;
  await Deno.writeFile(path, patterned(1000));
  let calls = 0;
  for (const options of [{ maxBytes: 999 }, { keepBytes: 999 }]) {
    await assert.rejects(
      () => hashFile(path, { ...options, onProgress: () => calls++ }),
      (e) =>
        isCosignError(e, "PAYLOAD_TOO_LARGE") &&
        /1000 bytes exceeds the limit of 999/.test(e.message),
    );
  }
  assert.equal(calls, 0, "nothing was hashed");
  const kept = await hashFile(path, { keepBytes: 1000, maxBytes: 1000 });
  assert.deepEqual(kept.bytes, patterned(1000));
});

Deno.test("hashStream() stops at maxBytes even when the size is unknown in advance", async () => {
  await assert.rejects(
    () => hashStream(streamOf(patterned(5000), 100), { maxBytes: 4096 }),
    (e) => isCosignError(e, "PAYLOAD_TOO_LARGE"),
  );
});

Deno.test("hashFile() reports progress with the total, and the last report is the whole file", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/blob`;
  const size = 3 * HASH_CHUNK_BYTES + 5;
  await Deno.writeFile(path, patterned(size));
  const reports: HashProgress[] = [];
  await hashBlob({ kind: "file", path }, { onProgress: (p) => reports.push(p) });
  assert.equal(reports.length, 4);
  assert.ok(
    reports.every((r, i) => r.total === size && (i === 0 || r.hashed > reports[i - 1]!.hashed)),
  );
  assert.equal(reports.at(-1)!.hashed, size);
});

Deno.test("hashFile() stops when the signal is aborted, and a missing file is the file system's error", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/blob`;
  await Deno.writeFile(path, patterned(2 * HASH_CHUNK_BYTES));
  const controller = new AbortController();
  await assert.rejects(
    () => hashFile(path, { signal: controller.signal, onProgress: () => controller.abort() }),
    (e) => e instanceof DOMException && e.name === "AbortError",
  );
  await assert.rejects(() => hashFile(`${dir.path}/missing`), Deno.errors.NotFound);
});

Deno.test("keepSmallBytes keeps a blob up to the limit and drops a larger one without failing", async () => {
  await using dir = await tempDir();
  const small = patterned(1000);
  const large = patterned(3000);
  await Deno.writeFile(`${dir.path}/small`, small);
  await Deno.writeFile(`${dir.path}/large`, large);
  const kept = await hashFile(`${dir.path}/small`, { keepSmallBytes: 1000 });
  assert.deepEqual(kept.bytes, small);
  const dropped = await hashFile(`${dir.path}/large`, { keepSmallBytes: 1000 });
  assert.equal(dropped.bytes, undefined);
  assert.equal(toHex(digestOf(dropped, "sha256")), toHex(digest("sha256", large)));
  // A stream has no size up front: the bytes are dropped once they pass the limit.
  const streamed = await hashStream(streamOf(large, 700), { keepSmallBytes: 1000 });
  assert.equal(streamed.bytes, undefined);
  assert.equal(streamed.size, 3000);
  const whole = await hashStream(streamOf(small, 300), { keepSmallBytes: 1000 });
  assert.deepEqual(whole.bytes, small);
});
