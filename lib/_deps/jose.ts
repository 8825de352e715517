/**
 * `jose`, pinned here and nowhere else: JWT verification against a JWKS (ID tokens,
 * lib/keyless/id_token.ts). Its own module so that only token code loads it.
 *
 * @module
 */

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
