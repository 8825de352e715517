/**
 * cli/keys/key_refs.ts reads key files with its own size bound so that loading a public key
 * pulls in no private-key code; the bound must stay the library's `MAX_KEY_FILE_SIZE`.
 */

import assert from "node:assert/strict";
import { MAX_KEY_REF_BYTES } from "../../../cli/keys/key_refs.ts";
import { MAX_KEY_FILE_SIZE } from "../../../lib/keys/private_key.ts";

Deno.test("MAX_KEY_REF_BYTES equals lib/keys' MAX_KEY_FILE_SIZE", () => {
  assert.equal(MAX_KEY_REF_BYTES, MAX_KEY_FILE_SIZE);
});
