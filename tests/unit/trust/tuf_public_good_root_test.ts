/**
 * The embedded public-good root: the bytes are the ones the module header names (sha256 from
 * @sigstore/tuf 5.0.1's seeds.json), version 16, and they verify by their own threshold.
 */

import assert from "node:assert/strict";
import { parseTufMetadata } from "../../../lib/trust/tuf/metadata.ts";
import {
  PUBLIC_GOOD_MIRROR,
  PUBLIC_GOOD_ROOT_SHA256,
  PUBLIC_GOOD_ROOT_VERSION,
  publicGoodRootBytes,
} from "../../../lib/trust/tuf/public_good.ts";
import { verifyThreshold } from "../../../lib/trust/tuf/verify.ts";
import { sha256 } from "./_tuf_fixtures.ts";

Deno.test("the embedded public-good root is root v16 with the recorded sha256, and verifies itself", async () => {
  const bytes = publicGoodRootBytes();
  assert.equal(sha256(bytes), PUBLIC_GOOD_ROOT_SHA256);
  assert.equal(
    PUBLIC_GOOD_ROOT_SHA256,
    "27aea7e372aa7864065174f0661784fcf8b0e28b1dbfebeada31a0f1fb19167f",
  );
  assert.equal(bytes.length, 5630);
  const root = parseTufMetadata(bytes, "root");
  assert.equal(root.signed.version, PUBLIC_GOOD_ROOT_VERSION);
  assert.equal(root.signed.expires, "2027-04-22T19:27:31Z");
  assert.equal(root.signed.consistentSnapshot, true);
  await verifyThreshold(root, root.signed.roles.root, root.signed.keys, "root");
  assert.equal(PUBLIC_GOOD_MIRROR, "https://tuf-repo-cdn.sigstore.dev");
});
