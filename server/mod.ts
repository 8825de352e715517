/**
 * The embedded Sigstore stack behind `dcosign serve`: one Hono app with every service on its own
 * path prefix, served on one port, state under one data directory (memory without one).
 *
 * | service | paths |
 * | --- | --- |
 * | OCI registry | `/v2/...` |
 * | Rekor (v1 API) | `/api/v1/log/...`, `/api/v1/index/retrieve` |
 * | Rekor v2 (rekor-tiles API, C2SP tlog-tiles) | `/rekor-v2/api/v2/log/entries`, `/rekor-v2/checkpoint`, `/rekor-v2/tile/...` |
 * | Fulcio (v2 API) | `/api/v2/signingCert`, `/api/v2/trustBundle`, `/api/v2/configuration` |
 * | OIDC issuer | `/.well-known/openid-configuration`, `/oauth2/...` |
 * | TSA (RFC 3161) | `/api/v1/timestamp` |
 * | TUF repository | `/tuf/` (`N.root.json`, `timestamp.json`, `N.snapshot.json`, `N.targets.json`, `targets/<sha256>.<name>`) |
 *
 * Once listening it knows its URL, so it can name itself: it writes `trusted_root.json` (log key,
 * CA chain, CT log key, TSA chain) and `signing_config.json` beside its state (or beside the
 * ready file; `signing_config_rekor_v2.json` lists the Rekor v2 log first), publishes the trusted
 * root and signing config through its TUF repository (role keys under `<dataDir>/tuf/`, the
 * timestamp re-signed before it expires), and writes a ready file with every URL (`tufMirror`
 * and `tufRoot` for `dcosign initialize`) and a one-hour identity token. Composing and serving
 * is `server/stack/stack.ts`, opening the services' state `server/stack/services.ts`, writing
 * those files `server/stack/files.ts`; each service has its folder (`registry/`, `rekor/`,
 * `rekor_v2/`, `fulcio/`, `oidc/`, `tsa/`), its state beside its routes. The Kubernetes admission
 * webhook (`dcosign admission serve`) is `admission/`: `startAdmissionServer` serves it over HTTPS.
 *
 * @example Start the stack on a free port, sign and verify an image against it
 * ```ts
 * import assert from "node:assert/strict";
 * import { sign, verify } from "@dcosign/dcosign";
 * import { startStack } from "@dcosign/dcosign/server";
 * import { pushExampleImage } from "../lib/oci/example_image.ts";
 *
 * await using stack = await startStack(); // 127.0.0.1, a free port, state in memory
 * assert.equal(stack.ready.registry, stack.registryHost); // "127.0.0.1:40123"
 * const image = await pushExampleImage(stack.registryHost, "docs/served");
 * const trustedRoot = stack.trust.trustedRoot;
 * await sign(image, {
 *   keyless: { token: stack.ready.idToken!, fulcioUrl: stack.url, trustedRoot },
 *   rekorUrl: stack.url,
 *   tsaUrl: stack.ready.tsa!,
 * });
 * await verify(image, {
 *   trustedRoot,
 *   identities: [{ subject: stack.ready.identity!, issuer: stack.ready.issuer! }],
 *   timestampThreshold: 1,
 * });
 * ```
 *
 * @module
 */

export type { BasicCredentials, RegistryRoutesOptions } from "./registry/routes.ts";
export type { Bytes, HashName } from "../lib/util/bytes.ts";
export { CosignError, type ErrorArea, type ErrorCode } from "../lib/errors.ts";
export * from "./registry/store.ts";
export { type LogInfo, TransparencyLog } from "./rekor/transparency_log.ts";
export { RekorV2Log, type RekorV2LogOptions } from "./rekor_v2/log.ts";
export {
  CertificateAuthority,
  type CertificateAuthorityJson,
  type LeafRequest,
} from "./fulcio/certificate_authority.ts";
export {
  type MintOptions,
  OidcIssuer,
  type OidcIssuerJson,
  type TokenAnswer,
} from "./oidc/issuer.ts";
export type { GithubWorkflowIdentity, IssuerIdentity } from "./oidc/identities.ts";
export {
  type RetiredTimestampChainJson,
  TimestampAuthority,
  type TimestampAuthorityJson,
} from "./tsa/timestamp_authority.ts";
export {
  DEFAULT_TUF_EXPIRY,
  type RotateRootOptions,
  TufRepository,
  type TufRepositoryOptions,
  type TufWriteOptions,
} from "./tuf/repository.ts";
export { type TufPublicKeyJson, TufSigningKey, type TufSigningKeyType } from "./tuf/keys.ts";
export type { TufRoleName } from "../lib/trust/tuf/metadata.ts";
export type {
  JSONWebKeySet,
  JWEContentEncryptionAlgorithm,
  JWEKeyManagementAlgorithm,
  JWK,
  JWKKeyType,
  JWSAlgorithm,
} from "./_deps.ts";
export type {
  TrustedAuthority,
  TrustedLog,
  TrustedRoot,
  ValidityPeriod,
} from "../lib/trust/trusted_root.ts";
export type {
  ServiceEndpoint,
  ServiceSelector,
  SigningConfig,
} from "../lib/trust/signing_config.ts";
export type { KeyKind, PublicKey } from "../lib/keys/public_key.ts";
export type { Certificate, Extension, KeyUsageName } from "../lib/x509/certificate.ts";
export type { DistinguishedName, GeneralName, NameAttribute } from "../lib/x509/names.ts";
export { KEY_USAGE_BITS } from "../lib/x509/certificate.ts";
export type { SanInput } from "./fulcio/certificate_builder.ts";
export type { MerkleNodeSource } from "../lib/tlog/merkle_tree.ts";
export type { RekorInclusionProof, RekorLogEntry } from "../lib/tlog/rekor/wire.ts";
export { type ReadyInfo, writeReadyFile } from "./stack/files.ts";
export {
  bindStack,
  openStackServices,
  rotateTimestampAuthority,
  type StackServices,
  type StackServicesOptions,
  type StackTrust,
} from "./stack/services.ts";
export {
  type AdmissionServer,
  type AdmissionServerOptions,
  DEFAULT_ADMISSION_PORT,
  startAdmissionServer,
} from "./admission/server.ts";
export {
  type AdmissionApp,
  admissionRoutes,
  type AdmissionRoutesOptions,
} from "./admission/routes.ts";
export { AdmissionMetrics, type Hook, ROUTES } from "./admission/metrics.ts";
export {
  generateSelfSignedTls,
  type SelfSignedOptions,
  type TlsMaterial,
} from "./admission/tls.ts";
export {
  KubernetesPolicySource,
  type KubernetesPolicySourceOptions,
  listClusterImagePolicyObjects,
} from "./admission/kubernetes.ts";
export {
  createStackApp,
  serveStack,
  type Stack,
  type StackApp,
  type StackAppOptions,
  type StackOptions,
  startStack,
} from "./stack/stack.ts";
