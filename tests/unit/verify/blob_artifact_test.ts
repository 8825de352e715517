/**
 * lib/verify/blob.ts prepares the artifact by size: a small blob is kept and its signature
 * verified over the bytes (WebCrypto), a large one only hashed and verified over its digest
 * (prehashed ECDSA); both reject a blob that was not signed.
 */

import assert from "node:assert/strict";
import { generateKeyPair } from "../../../lib/keys/private_key.ts";
import { signBlob } from "../../../lib/sign/blob.ts";
import { SMALL_MESSAGE_BYTES, verifyBlob } from "../../../lib/verify/blob.ts";
import { encodeBundle } from "../../../lib/bundle/serialize.ts";
import { isCosignError } from "../../../lib/errors.ts";
import { tempDir } from "../../_support.ts";

Deno.test("verifyBlob() verifies a small file over its bytes and a large one over its digest", async () => {
  await using dir = await tempDir();
  const key = await generateKeyPair();
  const policy = { key: key.publicKey, tlogThreshold: 0 };
  for (
    const [name, size, kind] of [["small", 100, "bytes"], [
      "large",
      SMALL_MESSAGE_BYTES + 1,
      "digest",
    ]] as const
  ) {
    const path = `${dir.path}/${name}`;
    const bytes = crypto.getRandomValues(new Uint8Array(Math.min(size, 65536)));
    const blob = new Uint8Array(size);
    for (let at = 0; at < size; at += bytes.length) blob.set(bytes.subarray(0, size - at), at);
    await Deno.writeFile(path, blob);
    const signed = await signBlob({ kind: "file", path }, { identity: { signer: key } });
    const bundle = encodeBundle(signed.bundle);
    const { artifact } = await verifyBlob({ bundle }, { kind: "file", path }, policy);
    assert.equal(artifact?.kind, kind, name);
    blob[size - 1]! ^= 1;
    await Deno.writeFile(path, blob);
    await assert.rejects(
      verifyBlob({ bundle }, { kind: "file", path }, policy),
      (error) => isCosignError(error),
      name,
    );
  }
});
