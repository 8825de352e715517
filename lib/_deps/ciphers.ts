/**
 * `@noble/ciphers`, pinned here and nowhere else: NaCl secretbox for cosign's encrypted key
 * files (lib/keys/key_file.ts). Its own module so that only key-file code loads it.
 *
 * @module
 */

export { xsalsa20poly1305 } from "npm:@noble/ciphers@2.4.0/salsa.js";
