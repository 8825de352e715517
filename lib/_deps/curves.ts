/**
 * `@noble/curves`, pinned here and nowhere else: prehashed ECDSA (digest-only inputs, huge
 * blobs) and Ed25519ph, which WebCrypto cannot do. Loaded on demand (`import()`), so a command
 * that verifies with WebCrypto only never parses it.
 *
 * Specifiers are full `npm:name@version` so that `deno run <url>/main.ts` works without a
 * config file (an import map in deno.json does not apply to remote modules); each version
 * appears once, in this folder, and deno.lock pins its integrity.
 *
 * @module
 */

export { p256, p384, p521 } from "npm:@noble/curves@2.4.0/nist.js";
export { ed25519, ed25519ph } from "npm:@noble/curves@2.4.0/ed25519.js";
