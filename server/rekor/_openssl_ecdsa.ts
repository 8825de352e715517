/**
 * ECDSA through the system's OpenSSL (`libcrypto.so.3`, by Deno's FFI), for the embedded
 * Rekor's appends (bench/rekor_http_bench.ts):
 *
 * - verifying hashedrekord signatures over a precomputed digest: WebCrypto cannot verify a
 *   digest, and the pure-JS curves cost ~0.8 ms a P-256 signature here against ~0.15 ms for
 *   OpenSSL's `EVP_PKEY_verify` (which takes the digest as it is);
 * - signing SETs and checkpoints with the log key: ~0.02 ms with `EVP_DigestSign` against
 *   ~0.4 ms for a WebCrypto signature, on the path of every append's answer.
 *
 * For verifying, only the arithmetic moves: the key is the `PublicKey` the library parsed and
 * checked, the signature must be strict DER of the key's size (`ecdsaSignatureToRaw`,
 * SECURITY.md's malleability class) and the digest must have the hash's length before OpenSSL
 * sees them. RSA and anything else go to the library's `verifyPrehashed`. Without FFI
 * permission, or without libcrypto, or with `DCOSIGN_OPENSSL=0`, there is no binding and the
 * library's paths are used: the same answers, slower.
 *
 * @module
 */

import { type Bytes, digestLength, type HashName } from "../../lib/util/bytes.ts";
import {
  ecdsaSignatureToRaw,
  type PublicKey,
  type Signer,
  verifyPrehashed,
} from "../../lib/keys/public_key.ts";
import type { PrivateKey } from "../../lib/keys/private_key.ts";
import type { PrehashedVerifier } from "../../lib/tlog/rekor/canonicalize.ts";

const LIBRARIES: Partial<Record<typeof Deno.build.os, readonly string[]>> = {
  linux: ["libcrypto.so.3"],
  darwin: ["libcrypto.3.dylib", "/opt/homebrew/lib/libcrypto.3.dylib"],
};

const SYMBOLS = {
  OPENSSL_init_crypto: { parameters: ["u64", "pointer"], result: "i32" },
  d2i_PUBKEY: { parameters: ["pointer", "buffer", "i64"], result: "pointer" },
  d2i_AutoPrivateKey: { parameters: ["pointer", "buffer", "i64"], result: "pointer" },
  EVP_PKEY_free: { parameters: ["pointer"], result: "void" },
  EVP_PKEY_CTX_new: { parameters: ["pointer", "pointer"], result: "pointer" },
  EVP_PKEY_CTX_free: { parameters: ["pointer"], result: "void" },
  EVP_PKEY_verify_init: { parameters: ["pointer"], result: "i32" },
  EVP_PKEY_verify: {
    parameters: ["pointer", "buffer", "usize", "buffer", "usize"],
    result: "i32",
  },
  EVP_MD_CTX_new: { parameters: [], result: "pointer" },
  EVP_MD_CTX_free: { parameters: ["pointer"], result: "void" },
  EVP_sha256: { parameters: [], result: "pointer" },
  EVP_sha384: { parameters: [], result: "pointer" },
  EVP_DigestSignInit: {
    parameters: ["pointer", "pointer", "pointer", "pointer", "pointer"],
    result: "i32",
  },
  EVP_DigestSign: {
    parameters: ["pointer", "buffer", "buffer", "buffer", "usize"],
    result: "i32",
  },
} as const;

type Library = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

/** `OPENSSL_INIT_NO_ATEXIT` (openssl/crypto.h, OpenSSL 3.0). */
const OPENSSL_INIT_NO_ATEXIT = 0x00080000n;

let loaded: { readonly lib: Library | undefined } | undefined;

/** The binding, opened once per thread; `undefined` when turned off or unavailable. */
function open(): Library | undefined {
  if (Deno.env.get("DCOSIGN_OPENSSL") === "0") return undefined;
  loaded ??= { lib: load() };
  return loaded.lib;
}

function load(): Library | undefined {
  // Never prompt: a server without --allow-ffi simply runs the pure-JS path.
  if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") return undefined;
  for (const name of LIBRARIES[Deno.build.os] ?? []) {
    let lib: Library;
    try {
      lib = Deno.dlopen(name, SYMBOLS).symbols;
    } catch {
      continue; // not this name: try the next
    }
    // No cleanup handler at exit: OpenSSL's would free its global state while other threads
    // (Rekor's prepare workers) may still be using or releasing theirs, and the process
    // crashed at exit ("double free", SIGSEGV; tests/unit/server/rekor_openssl_test.ts). The
    // operating system reclaims the memory anyway.
    if (lib.OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, null) !== 1) return undefined;
    return lib;
  }
  return undefined;
}

/** A fresh, zero-offset copy: what FFI hands to C must not be a view into a shared buffer. */
function own(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(bytes);
}

/** A pointer to the start of `bytes`, in a cell C may advance (the `d2i_*` calling style). */
function cursorTo(bytes: Uint8Array<ArrayBuffer>): BigUint64Array<ArrayBuffer> {
  return new BigUint64Array([BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(bytes)))]);
}

function verifyWith(
  lib: Library,
  key: PublicKey,
  digest: Uint8Array,
  signature: Uint8Array,
): boolean {
  const spki = own(key.spki);
  const pkey = lib.d2i_PUBKEY(null, cursorTo(spki), BigInt(spki.length));
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

/** A log key held by OpenSSL; dispose of it to free the key there. */
export interface OpenSslSigner extends Signer, Disposable {}

/**
 * `key` (ECDSA P-256 or P-384) as a {@link Signer} whose signatures with the key's default hash
 * OpenSSL makes (DER, like the library's); another hash, or Ed25519ph, goes to `key` itself.
 * `undefined` for other keys or without a binding. The key's bytes go to OpenSSL once.
 */
export function openSslSigner(key: PrivateKey): OpenSslSigner | undefined {
  const lib = open();
  if (!lib || (key.kind !== "ecdsa-p256" && key.kind !== "ecdsa-p384")) return undefined;
  const hash = key.publicKey.defaultHash;
  const der = own(key.toPkcs8());
  const pkey = lib.d2i_AutoPrivateKey(null, cursorTo(der), BigInt(der.length));
  der.fill(0);
  if (pkey === null) return undefined;
  const md = hash === "sha384" ? lib.EVP_sha384() : lib.EVP_sha256();
  let disposed = false;
  const signNow = (data: Uint8Array): Bytes => {
    if (disposed) throw new TypeError("The OpenSSL signer was disposed of");
    const ctx = lib.EVP_MD_CTX_new();
    if (ctx === null) throw new Error("OpenSSL could not allocate a digest context");
    try {
      if (lib.EVP_DigestSignInit(ctx, null, md, null, pkey) !== 1) {
        throw new Error("OpenSSL could not start a signature");
      }
      // A DER ECDSA signature of P-384 is at most 104 bytes.
      const out = new Uint8Array(160);
      const length = new BigUint64Array([BigInt(out.length)]);
      const tbs = own(data);
      const lengthCell = new Uint8Array(length.buffer);
      if (lib.EVP_DigestSign(ctx, out, lengthCell, tbs, BigInt(tbs.length)) !== 1) {
        throw new Error("OpenSSL could not sign");
      }
      return out.slice(0, Number(length[0])) as Bytes;
    } finally {
      lib.EVP_MD_CTX_free(ctx);
    }
  };
  return {
    publicKey: key.publicKey,
    sign(data, options = {}) {
      if ((options.hash ?? hash) !== hash || options.prehash) return key.sign(data, options);
      try {
        return Promise.resolve(signNow(data));
      } catch (error) {
        return Promise.reject(error);
      }
    },
    [Symbol.dispose]() {
      if (disposed) return;
      disposed = true;
      lib.EVP_PKEY_free(pkey);
    },
  };
}
