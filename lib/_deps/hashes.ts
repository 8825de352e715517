/**
 * `@noble/hashes`, pinned here and nowhere else: pure-JS SHA-2 for small inputs, so that
 * hashing a certificate or a log entry does not load Node's crypto layer (~13 ms at start-up
 * in Deno 2.9; lib/util/sha2.ts). Already locked as a dependency of `@noble/curves`.
 *
 * @module
 */

export { sha256, sha384, sha512 } from "npm:@noble/hashes@2.4.0/sha2.js";
