/**
 * Third-party code the library uses, pinned here and nowhere else.
 *
 * Specifiers are full `npm:name@version` so that `deno run <url>/main.ts` works without a
 * config file (an import map in deno.json does not apply to remote modules); each version
 * appears once, in this file, and deno.lock pins its integrity.
 *
 * @module
 */

export { p256, p384, p521 } from "npm:@noble/curves@2.4.0/nist.js";
export { ed25519, ed25519ph } from "npm:@noble/curves@2.4.0/ed25519.js";
export { xsalsa20poly1305 } from "npm:@noble/ciphers@2.4.0/salsa.js";
export {
  createLocalJWKSet,
  errors as joseErrors,
  type JSONWebKeySet,
  type JWEContentEncryptionAlgorithm,
  type JWEKeyManagementAlgorithm,
  type JWK,
  type JWKKeyType,
  type JWSAlgorithm,
  jwtVerify,
} from "npm:jose@6.2.18";
