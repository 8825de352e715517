/**
 * dcosign: Sigstore Cosign for Deno. Sign and verify container images, blobs and in-toto
 * attestations, with keys or keyless (OIDC identity -> Fulcio certificate -> Rekor entry),
 * wire-compatible with cosign and sigstore-js. The embedded Sigstore stack is `./server`.
 *
 * - Images: `sign`, `verify`, `attest`, `verifyAttestation`.
 * - Blobs: `signBlob`, `verifyBlob`, `attestBlob`, `verifyBlobAttestation`.
 * - Keys: `generateKeyPair`, `importPrivateKeyPem`, `encryptPrivateKey`, `decryptPrivateKey`,
 *   `PrivateKey`, `PublicKey`, `verifySignature`.
 * - Keyless and witnesses: `keylessIdentity` (Fulcio), `transparencyLogWitness` (Rekor),
 *   `timestampWitness` (RFC 3161); `RekorClient` for log lookups, `RekorV2Client` for Rekor v2
 *   (rekor-tiles) entries and tiles.
 * - Formats and trust: `parseBundle`, `serializeBundle`, `parseTrustedRoot`,
 *   `parseSigningConfig` and `selectSigningService`; `TufClient` and `initializeTuf` read the
 *   trusted root and signing config through TUF (default the public-good repository).
 * - Registries: `RegistryClient`, `parseImageReference`, `formatImageReference`.
 * - Policies: `checkAttestationPolicy` (cosign's `verify-attestation --policy`: Rego and CUE over
 *   in-toto statements), `compilePolicyControllerPolicy` / `evaluatePolicyControllerPolicy`
 *   (policy-controller's), `evaluateRego` (the Rego engine).
 *
 * Failures are `CosignError`s with a typed `code` (`isCosignError(error, code)`); bad arguments
 * are `TypeError` or `RangeError`. The examples run in the test suite (`deno test --doc`), most
 * against the embedded stack from `@dcosign/dcosign/server`; the few that need the internet are
 * marked `ignore` and say so.
 *
 * @example Sign and verify a blob with a key
 * ```ts
 * import assert from "node:assert/strict";
 * import { generateKeyPair, serializeBundle, signBlob, verifyBlob } from "@dcosign/dcosign";
 *
 * const key = await generateKeyPair();
 * const blob = new TextEncoder().encode("release notes");
 * const signed = await signBlob({ kind: "bytes", bytes: blob }, { identity: { signer: key } });
 * const bundle = serializeBundle(signed.bundle); // Sigstore bundle v0.3 JSON, as cosign writes it
 *
 * // No transparency log was used, so the verifier must not ask for one (tlogThreshold: 0).
 * const verified = await verifyBlob(
 *   { bundle: new TextEncoder().encode(bundle) },
 *   { kind: "bytes", bytes: blob },
 *   { key: key.publicKey, tlogThreshold: 0 },
 * );
 * assert.ok(verified.result.key.equals(key.publicKey));
 * ```
 *
 * @example Sign an image keyless and verify it by identity, on the embedded stack
 * ```ts
 * import { sign, verify } from "@dcosign/dcosign";
 * import { startStack } from "@dcosign/dcosign/server";
 * import { pushExampleImage } from "./lib/oci/example_image.ts";
 *
 * await using stack = await startStack(); // registry, Rekor, Fulcio, OIDC issuer, TSA
 * const image = await pushExampleImage(stack.registryHost, "docs/hello");
 * const trustedRoot = stack.trust.trustedRoot;
 * await sign(image, {
 *   keyless: { token: stack.ready.idToken!, fulcioUrl: stack.url, trustedRoot },
 *   rekorUrl: stack.url,
 * });
 * await verify(image, {
 *   trustedRoot,
 *   identities: [{ subject: stack.ready.identity!, issuer: stack.ready.issuer! }],
 * });
 * ```
 *
 * @module
 */

export {
  attest,
  type AttestOptions,
  sign,
  type SignOptions,
  verify,
  verifyAttestation,
  type VerifyAttestationOptions,
  type VerifyOptions,
} from "./lib/api.ts";
export {
  attestBlob,
  type AttestBlobOptions,
  type BlobAttestation,
  type BlobSignature,
  type BlobSource,
  type HashProgress,
  signBlob,
  type SignBlobOptions,
} from "./lib/sign/blob.ts";
export {
  type BlobAttestationVerification,
  type BlobInput,
  type BlobVerification,
  verifyBlob,
  verifyBlobAttestation,
  type VerifyBlobAttestationOptions,
  type VerifyBlobOptions,
} from "./lib/verify/blob.ts";
export type { BlobSignatureInput } from "./lib/verify/blob_entity.ts";
export type { ImageAttestation, ImageSignature, StorageFormat } from "./lib/sign/image.ts";
export type { ImageVerification, VerifiedImageSignature } from "./lib/verify/image.ts";
export type {
  Artifact,
  SignatureContent,
  SignedEntity,
  SignerMaterial,
  VerificationPolicy,
  VerificationResult,
  VerifiedTime,
} from "./lib/verify/entity.ts";
export type { IdentityMatcher } from "./lib/verify/entity.ts";
export type { LogWitness, SigningIdentity, SigningServices } from "./lib/sign/signature.ts";
export {
  type KeylessIdentity,
  keylessIdentity,
  type KeylessOptions,
  timestampWitness,
  transparencyLogWitness,
  type TransparencyLogWitnessOptions,
} from "./lib/sign/witnesses.ts";
export {
  generateKeyPair,
  type GenerateOptions,
  importPrivateKeyPem,
  PrivateKey,
  type PrivateKeyFormat,
  type SignOptions as PrivateKeySignOptions,
} from "./lib/keys/private_key.ts";
export {
  type DecryptOptions,
  decryptPrivateKey,
  type EncryptOptions,
  encryptPrivateKey,
  type Password,
  type RandomSource,
} from "./lib/keys/key_file.ts";
export {
  type KeyKind,
  PublicKey,
  type Signer,
  type VerifyOptions as PublicKeyVerifyOptions,
  verifySignature,
} from "./lib/keys/public_key.ts";
export {
  type Bundle,
  type BundleContent,
  type BundleKeyMaterial,
  type BundleVersion,
  type MessageDigest,
  parseBundle,
  type ParseBundleOptions,
  type VerificationMaterial,
} from "./lib/bundle/model.ts";
export { serializeBundle } from "./lib/bundle/serialize.ts";
export type { Envelope, EnvelopeSignature } from "./lib/payload/dsse.ts";
export type { Statement, StatementSubject } from "./lib/payload/statement.ts";
export type { InclusionProof, TlogEntry } from "./lib/tlog/entry.ts";
export type { TlogVerification } from "./lib/tlog/verify.ts";
export type { EntryBody, EntryDigest, LoggedSignature } from "./lib/tlog/rekor/bodies.ts";
export type { ProposedEntry } from "./lib/tlog/rekor/entries.ts";
export {
  RekorClient,
  type RekorClientOptions,
  type RekorRetrieveQuery,
  type RekorSearchQuery,
} from "./lib/tlog/rekor/client.ts";
export type {
  RekorConsistencyProof,
  RekorInclusionProof,
  RekorLogEntry,
  RekorLogInfo,
} from "./lib/tlog/rekor/wire.ts";
export {
  RekorV2Client,
  type RekorV2ClientOptions,
  type RekorV2Log,
} from "./lib/tlog/rekor_v2/client.ts";
export type {
  RekorV2DsseRequest,
  RekorV2HashedRekordRequest,
  RekorV2Request,
  RekorV2Verifier,
} from "./lib/tlog/rekor_v2/entries.ts";
export type { Checkpoint, NoteSignature } from "./lib/tlog/checkpoint.ts";
export type { TstInfo, VerifiedTimestamp } from "./lib/timestamp/token.ts";
export {
  type Certificate,
  type Extension,
  KEY_USAGE_BITS,
  type KeyUsageName,
} from "./lib/x509/certificate.ts";
export type { DistinguishedName, GeneralName, NameAttribute } from "./lib/x509/names.ts";
export type { CertificateIdentity, GithubWorkflow } from "./lib/x509/identity.ts";
export type { CheckedCertificate } from "./lib/keyless/fulcio.ts";
export type { SignedCertificateTimestamp, VerifiedSct } from "./lib/x509/sct.ts";
export {
  parseTrustedRoot,
  type TrustedAuthority,
  type TrustedLog,
  type TrustedRoot,
  type ValidityPeriod,
} from "./lib/trust/trusted_root.ts";
export {
  parseSigningConfig,
  type SelectedService,
  selectSigningService,
  type SelectSigningServiceOptions,
  type ServiceEndpoint,
  type ServiceSelector,
  type SigningConfig,
  type SigningServiceKind,
  SUPPORTED_API_VERSIONS,
} from "./lib/trust/signing_config.ts";
export {
  initializeTuf,
  type InitializeTufOptions,
  SIGNING_CONFIG_TARGET,
  TRUSTED_ROOT_TARGET,
  TufClient,
  type TufClientOptions,
  type TufInitializeResult,
} from "./lib/trust/tuf/client.ts";
export { PUBLIC_GOOD_MIRROR } from "./lib/trust/tuf/public_good.ts";
export type { TrustedTufMetadata, TufLimits } from "./lib/trust/tuf/state.ts";
export type { EnvLookup } from "./lib/trust/tuf/cache.ts";
export type {
  RootMetadata,
  RootSigned,
  SnapshotMetadata,
  SnapshotSigned,
  TargetsMetadata,
  TargetsSigned,
  TimestampMetadata,
  TimestampSigned,
  TufDelegatedRole,
  TufKey,
  TufMetadata,
  TufMetaFile,
  TufRoleKeys,
  TufRoleName,
  TufSignature,
  TufSignedCommon,
  TufTargetFile,
} from "./lib/trust/tuf/metadata.ts";
export {
  RegistryClient,
  type RegistryClientOptions,
  type RegistryExchange,
  type RegistryLimits,
  type RetryPolicy,
  type TransportOptions,
} from "./lib/oci/client.ts";
export type { FetchedManifest, PushedManifest } from "./lib/oci/manifests.ts";
export type { OciDescriptor, OciPlatform } from "./lib/oci/manifest.ts";
export type { ReferrersList } from "./lib/oci/listings.ts";
export {
  defaultCacheDir,
  ReferrersSupport,
  type ReferrersSupportOptions,
} from "./lib/oci/referrers_support.ts";
export type {
  BlobTarget,
  StreamUploadOptions,
  StreamUploadOutcome,
} from "./lib/oci/blob_stream.ts";
export type { UploadedBlob, UploadOptions } from "./lib/oci/uploads.ts";
export type { CredentialResolver, RegistryCredentials } from "./lib/oci/docker_config.ts";
export type { DigestReference } from "./lib/storage/signatures.ts";
export {
  formatImageReference,
  type ImageReference,
  parseImageReference,
  type RepositoryRef,
} from "./lib/oci/reference.ts";
export { CosignError, type ErrorArea, type ErrorCode, isCosignError } from "./lib/errors.ts";
export type { Bytes, HashName } from "./lib/util/bytes.ts";
export type { JsonRecord } from "./lib/util/json.ts";

// Admission: ClusterImagePolicy enforcement (`dcosign admission`), the webhook in ./server.
export {
  type AdmissionPolicyErrorCode,
  type AttestationRef,
  type Authority,
  type CaCertRef,
  type ClusterImagePolicy,
  type KeyHashAlgorithm,
  type KeylessRef,
  type KeyRef,
  type MatchResource,
  parseClusterImagePolicies,
  parseClusterImagePolicy,
  type ParsePolicyOptions,
  POLICY_API_VERSIONS,
  type PolicyApiVersion,
  type PolicyDocument,
  type PolicyIdentity,
  type SecretRef,
  type SignatureSource,
  type StaticRef,
  type TimestampRef,
  type TlogRef,
  WORKLOAD_RESOURCES,
} from "./lib/admission/policy.ts";
export {
  type AdmissionAuthorityErrorCode,
  type AuthorityMatch,
  type AuthorityOutcome,
  checkAuthority,
  type CheckContext,
  type CompiledAttestation,
  type CompiledAuthority,
  type CompiledPolicy,
  compilePolicy,
  type CompilePolicyOptions,
  type PolicyAttestation,
  type PolicySignature,
  refusingPolicy,
  type TrustConfig,
} from "./lib/admission/authority.ts";
export {
  AdmissionController,
  type AdmissionControllerErrorCode,
  type AdmissionControllerOptions,
  type AuthorityResults,
  type CheckOptions,
  type Decision,
  fetchWithTimeout,
  type ImageDecision,
  type NoMatchPolicy,
  type PolicyVerdict,
} from "./lib/admission/controller.ts";
export {
  type AdmissionRequest,
  type AdmissionResponse,
  type AdmissionReviewErrorCode,
  answerMutation,
  answerValidation,
  parseAdmissionReview,
  type ReviewAnswer,
  type ReviewOutcome,
} from "./lib/admission/review.ts";
export {
  type CompiledRego,
  createPolicyEngine,
  type CueEvaluator,
  defaultPolicyEngine,
  type PolicyEngine,
  type PolicyEngineErrorCode,
  type PolicyEngineOptions,
  type PolicyLanguage,
  type PolicyProgram,
  type ProgramVerdict,
  REGO_QUERY,
  type RegoCompiler,
  type RegoSolution,
} from "./lib/admission/policy_engine.ts";
export { type CacheStats, ResultCache, type ResultCacheOptions } from "./lib/admission/cache.ts";
export { type FieldProblem, formatProblems } from "./lib/admission/field_errors.ts";
export type { LabelRequirement, LabelSelector } from "./lib/admission/labels.ts";
export { compileImageGlob, matchImageGlob } from "./lib/admission/glob.ts";
export {
  type ImageField,
  readWorkload,
  type ReadWorkloadOptions,
  type Workload,
  type WorkloadErrorCode,
  type WorkloadImage,
} from "./lib/admission/workload.ts";

// Policies: Rego and CUE over attestations (cosign --policy, policy-controller), the Rego engine.
export {
  AttestationPolicies,
  checkAttestationPolicy,
  type CheckAttestationPolicyOptions,
  compileAttestationPolicies,
  type CompileAttestationPoliciesOptions,
  type PolicyDecision,
  type PolicyInput,
  policyLanguageOf,
  type PolicySource,
  type StatementDecision,
} from "./lib/policy/attestation.ts";
export {
  compilePolicyControllerPolicy,
  evaluatePolicyControllerPolicy,
  type PolicyControllerOptions,
  type PolicyControllerProgram,
  type PolicyControllerVerdict,
} from "./lib/policy/policy_controller.ts";
export { type CueLimits, stopCueWorker } from "./lib/policy/cue.ts";
export {
  type CompileRegoOptions,
  type EvalLimits,
  type EvaluateOptions,
  evaluateRego,
  type JsonValue,
  type RegoExpressionValue,
  type RegoModule,
  type RegoResult,
  type RegoResultSet,
  type RegoSyntax,
  type SourceLocation,
} from "./lib/policy/rego/mod.ts";
