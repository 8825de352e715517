/**
 * `readAtMost` (lib/util/read_bounded.ts), the one bounded body reader: a declared length over
 * the budget is refused unread, a stream is cancelled the moment it passes the budget, and a body
 * of very many tiny chunks reads whole (no spread of the chunk list onto the call stack).
 */

import assert from "node:assert/strict";
import { readAtMost } from "../../../lib/util/read_bounded.ts";

function chunked(count: number, size: number): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent === count) return controller.close();
      controller.enqueue(new Uint8Array(size).fill(0x61));
      sent++;
    },
  });
}

Deno.test("readAtMost() reads a body of 600,000 one-byte chunks whole", async () => {
  const bytes = await readAtMost({ body: chunked(600_000, 1), headers: new Headers() }, 1 << 20);
  assert.equal(bytes?.length, 600_000);
});

Deno.test("readAtMost() refuses a declared or streamed length over the budget", async () => {
  const declared = new Headers({ "content-length": "2048" });
  assert.equal(await readAtMost({ body: chunked(1, 10), headers: declared }, 1024), undefined);
  assert.equal(
    await readAtMost({ body: chunked(2000, 1), headers: new Headers() }, 1024),
    undefined,
  );
  assert.equal(
    (await readAtMost({ body: chunked(1024, 1), headers: new Headers() }, 1024))?.length,
    1024,
  );
});
