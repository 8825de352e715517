/**
 * ECDSA over a precomputed digest through the system's OpenSSL (`libcrypto.so.3`, by Deno's
 * FFI), for the embedded Rekor's hashedrekord appends. A hashedrekord carries only the
 * artifact's digest, WebCrypto cannot verify a digest, and the pure-JS curves cost ~0.8 ms a
 * P-256 signature here against ~0.15 ms for OpenSSL's `EVP_PKEY_verify` (which takes the digest
 * as it is): that is most of an append's CPU (bench/rekor_http_bench.ts).
 *
 * Only the arithmetic moves: the key is the `PublicKey` the library parsed and checked, the
 * signature must be strict DER of the key's size (`ecdsaSignatureToRaw`, SECURITY.md's
 * malleability class) and the digest must have the hash's length before OpenSSL sees them.
 * RSA and anything else go to the library's `verifyPrehashed`. Without FFI permission, or
 * without libcrypto, or with `DCOSIGN_OPENSSL=0`, there is no binding and the library's path
 * is used: the same answers, slower.
 *
 * @module
 */

import { digestLength, type HashName } from "../../lib/util/bytes.ts";
import { ecdsaSignatureToRaw, type PublicKey, verifyPrehashed } from "../../lib/keys/public_key.ts";
import type { PrehashedVerifier } from "../../lib/tlog/rekor/canonicalize.ts";

const LIBRARIES: Partial<Record<typeof Deno.build.os, readonly string[]>> = {
  linux: ["libcrypto.so.3"],
  darwin: ["libcrypto.3.dylib", "/opt/homebrew/lib/libcrypto.3.dylib"],
};

const SYMBOLS = {
  d2i_PUBKEY: { parameters: ["pointer", "buffer", "i64"], result: "pointer" },
  EVP_PKEY_free: { parameters: ["pointer"], result: "void" },
  EVP_PKEY_CTX_new: { parameters: ["pointer", "pointer"], result: "pointer" },
  EVP_PKEY_CTX_free: { parameters: ["pointer"], result: "void" },
  EVP_PKEY_verify_init: { parameters: ["pointer"], result: "i32" },
  EVP_PKEY_verify: {
    parameters: ["pointer", "buffer", "usize", "buffer", "usize"],
    result: "i32",
  },
} as const;

type Library = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

function open(): Library | undefined {
  if (Deno.env.get("DCOSIGN_OPENSSL") === "0") return undefined;
  // Never prompt: a server without --allow-ffi simply runs the pure-JS path.
  if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") return undefined;
  for (const name of LIBRARIES[Deno.build.os] ?? []) {
    try {
      return Deno.dlopen(name, SYMBOLS).symbols;
    } catch {
      // not this name: try the next
    }
  }
  return undefined;
}

/** A fresh, zero-offset copy: what FFI hands to C must not be a view into a shared buffer. */
function own(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(bytes);
}

function verifyWith(
  lib: Library,
  key: PublicKey,
  digest: Uint8Array,
  signature: Uint8Array,
): boolean {
  const spki = own(key.spki);
  // d2i_PUBKEY reads through (and advances) a pointer to the DER bytes.
  const cursor = new BigUint64Array([
    BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(spki))),
  ]);
  const pkey = lib.d2i_PUBKEY(null, cursor, BigInt(spki.length));
  if (pkey === null) return false;
  const ctx = lib.EVP_PKEY_CTX_new(pkey, null);
  try {
    if (ctx === null || lib.EVP_PKEY_verify_init(ctx) !== 1) return false;
    const sig = own(signature);
    const tbs = own(digest);
    return lib.EVP_PKEY_verify(ctx, sig, BigInt(sig.length), tbs, BigInt(tbs.length)) === 1;
  } finally {
    if (ctx !== null) lib.EVP_PKEY_CTX_free(ctx);
    lib.EVP_PKEY_free(pkey);
  }
}

/**
 * The OpenSSL-backed {@link PrehashedVerifier}, or `undefined` when there is no binding (see
 * the module note). Its answers equal `verifyPrehashed`'s; tests/unit/server/rekor_openssl_test.ts
 * holds them side by side.
 */
export function openSslPrehashedVerifier(): PrehashedVerifier | undefined {
  const lib = open();
  if (!lib) return undefined;
  return (key: PublicKey, digest: Uint8Array, signature: Uint8Array, hash: HashName) => {
    if (key.kind !== "ecdsa-p256" && key.kind !== "ecdsa-p384" && key.kind !== "ecdsa-p521") {
      return verifyPrehashed(key, digest, signature, hash);
    }
    if (digest.length !== digestLength(hash)) return false;
    if (!ecdsaSignatureToRaw(signature, key.curveSize)) return false;
    return verifyWith(lib, key, digest, signature);
  };
}
