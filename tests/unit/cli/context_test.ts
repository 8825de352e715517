/**
 * `CliContext.readFile`, the one way commands read the files users name: bounded whatever the
 * path is (a regular file, a device, a FIFO, standard input), one line naming what failed.
 */

import assert from "node:assert/strict";
import { fileReader } from "../../../cli/context.ts";
import { isCosignError } from "../../../lib/errors.ts";
import { tempDir } from "../../_support.ts";

const noStdin = () => Promise.resolve(new Uint8Array());

async function refused(read: Promise<unknown>, pattern: RegExp, code = "CLI_USAGE") {
  await assert.rejects(read, (error) => {
    assert.ok(isCosignError(error, code as "CLI_USAGE"), `unexpected ${error}`);
    assert.match(error.message, pattern);
    assert.ok(!error.message.includes("\n"), "the message is one line");
    return true;
  });
}

Deno.test("readFile() reads a file within its budget, relative to the working directory", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/a.txt`, "hello");
  const read = fileReader(dir.path, noStdin);
  assert.deepEqual(
    await read("a.txt", { maxBytes: 5, what: "note" }),
    new TextEncoder().encode("hello"),
  );
  await refused(
    read("a.txt", { maxBytes: 4, what: "note" }),
    /^Cannot read note "a\.txt": larger than/,
  );
});

Deno.test("readFile() stops /dev/zero at its budget instead of growing without end", async () => {
  const read = fileReader("/", noStdin);
  await refused(
    read("/dev/zero", { maxBytes: 1 << 20, what: "--bundle" }),
    /^Cannot read --bundle "\/dev\/zero": larger than the limit of 1048576 bytes$/,
  );
});

Deno.test("readFile() bounds a FIFO that never ends", async () => {
  await using dir = await tempDir();
  const fifo = `${dir.path}/pipe`;
  const made = await new Deno.Command("mkfifo", { args: [fifo] }).output();
  assert.ok(made.success, "mkfifo failed");
  // A writer that keeps writing until the reader goes away.
  const writer = new Deno.Command("sh", {
    args: ["-c", `yes dcosign > "${fifo}" 2>/dev/null || true`],
  }).spawn();
  try {
    await refused(
      fileReader(dir.path, noStdin)("pipe", { maxBytes: 64 * 1024, what: "--signature" }),
      /^Cannot read --signature "pipe": larger than/,
    );
  } finally {
    await writer.status;
  }
});

Deno.test("readFile('-') bounds standard input and names it", async () => {
  const stdin = new Uint8Array(2048);
  const read = fileReader("/", () => Promise.resolve(stdin));
  assert.equal((await read("-", { maxBytes: 2048, what: "the blob" })).length, 2048);
  await refused(
    read("-", { maxBytes: 1024, what: "the blob" }),
    /^Cannot read the blob from standard input: larger than/,
  );
});

Deno.test("readFile() reports a missing file or a directory with the caller's code", async () => {
  await using dir = await tempDir();
  const read = fileReader(dir.path, noStdin);
  await refused(
    read("nope.json", { maxBytes: 10, what: "trusted root", code: "TRUST_MISSING" }),
    /^Cannot read trusted root "nope\.json": /,
    "TRUST_MISSING",
  );
  await refused(read(".", { maxBytes: 10, what: "key" }), /it is a directory/);
});
