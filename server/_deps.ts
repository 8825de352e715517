/**
 * Third-party code the embedded servers use, pinned here and nowhere else in `server/`.
 *
 * Full `npm:name@version` specifiers, as in `lib/_deps.ts`, so `deno run <url>` works without
 * the import map; deno.lock pins their integrity.
 *
 * @module
 */

export { type Context, Hono } from "npm:hono@4.13.19";
export {
  exportJWK,
  type JSONWebKeySet,
  type JWEContentEncryptionAlgorithm,
  type JWEKeyManagementAlgorithm,
  type JWK,
  type JWKKeyType,
  type JWSAlgorithm,
  SignJWT,
} from "npm:jose@6.2.18";
