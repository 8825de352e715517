/**
 * scrypt at cosign's default cost (N=65536, r=8, p=1, 32-byte key; cosign-spec.md section 4.1),
 * the price of every encrypted key file: node:crypto (OpenSSL, native) against @noble/hashes
 * (pure JS), sync and async. lib/keys/key_file.ts uses the faster one.
 *
 * Run: `deno bench -A bench/scrypt_bench.ts`
 *
 * @module
 */

import { scrypt as nodeScrypt, scryptSync } from "node:crypto";
// Benchmarks are not lib/: the alternative under test is pinned here, at the version lib/_deps/
// would use (@noble/hashes is already locked as a dependency of @noble/curves).
import {
  scrypt as nobleScrypt,
  scryptAsync as nobleScryptAsync,
} from "npm:@noble/hashes@2.4.0/scrypt.js";

const N = 65536;
const R = 8;
const P = 1;
const PASSWORD = new TextEncoder().encode("correct horse battery staple");
const SALT = new Uint8Array(32).fill(7);
// OpenSSL refuses more than 32 MiB by default; N=2^16, r=8 needs 64 MiB.
const MAXMEM = 2 * 128 * N * R * P;

Deno.bench({
  name: "node:crypto scryptSync",
  group: "scrypt N=65536 r=8 p=1",
  baseline: true,
  n: 10,
  fn() {
    scryptSync(PASSWORD, SALT, 32, { N, r: R, p: P, maxmem: MAXMEM });
  },
});

Deno.bench({
  name: "node:crypto scrypt (async, callback)",
  group: "scrypt N=65536 r=8 p=1",
  n: 10,
  async fn() {
    await new Promise<void>((resolve, reject) =>
      nodeScrypt(PASSWORD, SALT, 32, { N, r: R, p: P, maxmem: MAXMEM }, (error) => {
        if (error) reject(error);
        else resolve();
      })
    );
  },
});

Deno.bench({
  name: "@noble/hashes scrypt",
  group: "scrypt N=65536 r=8 p=1",
  n: 10,
  fn() {
    nobleScrypt(PASSWORD, SALT, { N, r: R, p: P, dkLen: 32 });
  },
});

Deno.bench({
  name: "@noble/hashes scryptAsync",
  group: "scrypt N=65536 r=8 p=1",
  n: 10,
  async fn() {
    await nobleScryptAsync(PASSWORD, SALT, { N, r: R, p: P, dkLen: 32 });
  },
});
