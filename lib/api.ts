/**
 * The library's front door: sign, verify, attest and verify attestations of container images
 * with a few options, over the same code the CLI runs (lib/sign/image.ts, lib/verify/image.ts,
 * the one verification pipeline in lib/verify/pipeline.ts).
 *
 * @module
 */

import { RegistryClient } from "./oci/client.ts";
import { parseImageReference } from "./oci/reference.ts";
import {
  attestImage,
  type ImageAttestation,
  type ImageSignature,
  signImage,
  type StorageFormat,
} from "./sign/image.ts";
import type { SigningIdentity, SigningServices } from "./sign/signature.ts";
import type { Signer } from "./keys/public_key.ts";
import type { VerificationPolicy } from "./verify/entity.ts";
import type { TrustedRoot } from "./trust/trusted_root.ts";
import {
  type ImageVerification,
  verifyImageAttestations,
  verifyImageSignatures,
} from "./verify/image.ts";
import {
  keylessIdentity,
  type KeylessOptions,
  timestampWitness,
  transparencyLogWitness,
} from "./sign/witnesses.ts";

/** Options of `sign` and `attest`. */
export interface SignOptions {
  /** Sign with this key (a `PrivateKey`); without it, sign keyless with `keyless`. */
  readonly signer?: Signer;
  /** Keyless signing: an OIDC token, Fulcio's URL and the trusted root to check its answer. */
  readonly keyless?: Omit<KeylessOptions, "fetch">;
  /** Record the signature in this Rekor log (omit: not logged). */
  readonly rekorUrl?: string;
  /**
   * The Rekor API `rekorUrl` speaks: 1 (the default) or 2 (Rekor v2, rekor-tiles). Rekor v2
   * states no signing time, so keyless signing with it also needs `tsaUrl`; its answers are
   * checked with the log's key from `trustedRoot`.
   */
  readonly rekorVersion?: 1 | 2;
  /** Trust material naming the Rekor v2 log (default `keyless.trustedRoot`). */
  readonly trustedRoot?: TrustedRoot;
  /** Timestamp the signature at this RFC 3161 endpoint (omit: no timestamp). */
  readonly tsaUrl?: string;
  /** `bundle` (default: a Sigstore bundle referrer) or `legacy` (`sha256-<hex>.sig` tags). */
  readonly format?: StorageFormat;
  /** Claims signed with the image (`-a key=value`). */
  readonly annotations?: Readonly<Record<string, string>>;
  /** Also sign each image of a multi-arch index. */
  readonly recursive?: boolean;
  /** The registry client (default: anonymous, or `fetch`). */
  readonly registry?: RegistryClient;
  /** The fetch every client uses (default the global one). */
  readonly fetch?: typeof fetch;
}

async function signingParts(
  options: SignOptions,
): Promise<{ identity: SigningIdentity; services: SigningServices; registry: RegistryClient }> {
  const fetcher = options.fetch ? { fetch: options.fetch } : {};
  let identity: SigningIdentity;
  if (options.signer) identity = { signer: options.signer };
  else if (options.keyless) {
    identity = (await keylessIdentity({ ...options.keyless, ...fetcher })).identity;
  } else throw new TypeError("Give a signer (a key) or keyless options");
  const trustedRoot = options.trustedRoot ?? options.keyless?.trustedRoot;
  const services: SigningServices = {
    ...(options.rekorUrl
      ? {
        log: transparencyLogWitness(options.rekorUrl, {
          ...fetcher,
          majorApiVersion: options.rekorVersion ?? 1,
          ...(trustedRoot ? { trustedRoot } : {}),
        }),
      }
      : {}),
    ...(options.tsaUrl ? { timestamp: timestampWitness(options.tsaUrl, fetcher) } : {}),
  };
  return { identity, services, registry: options.registry ?? new RegistryClient(fetcher) };
}

/**
 * Sign a container image and store the signature beside it in the registry: a Sigstore bundle
 * referrer by default (cosign v3), or a `sha256-<hex>.sig` tag with `format: "legacy"`.
 *
 * The examples run against the embedded stack (`@dcosign/dcosign/server`), which stands in for
 * the registry, Rekor, Fulcio and an OIDC issuer; `pushExampleImage` pushes a tiny image to it.
 *
 * @example Sign with a key, record it in Rekor, verify with the public key
 * ```ts
 * import assert from "node:assert/strict";
 * import { generateKeyPair, sign, verify } from "@dcosign/dcosign";
 * import { startStack } from "@dcosign/dcosign/server";
 * import { pushExampleImage } from "./oci/example_image.ts";
 *
 * await using stack = await startStack();
 * const image = await pushExampleImage(stack.registryHost, "docs/app");
 * const key = await generateKeyPair();
 * const [signature] = await sign(image, { signer: key, rekorUrl: stack.url });
 * assert.equal(signature?.format, "bundle");
 *
 * const result = await verify(image, { key: key.publicKey, trustedRoot: stack.trust.trustedRoot });
 * assert.equal(result.signatures.length, 1);
 * assert.match(result.digest, /^sha256:[0-9a-f]{64}$/);
 * ```
 *
 * @example Keyless: an OIDC token, a Fulcio certificate, a Rekor entry
 * ```ts
 * import assert from "node:assert/strict";
 * import { sign } from "@dcosign/dcosign";
 * import { startStack } from "@dcosign/dcosign/server";
 * import { pushExampleImage } from "./oci/example_image.ts";
 *
 * await using stack = await startStack();
 * const image = await pushExampleImage(stack.registryHost, "docs/keyless");
 * const trustedRoot = stack.trust.trustedRoot;
 * const [signature] = await sign(image, {
 *   // The stack's OIDC issuer minted this token for its default identity.
 *   keyless: { token: stack.ready.idToken!, fulcioUrl: stack.url, trustedRoot },
 *   rekorUrl: stack.url,
 * });
 * assert.ok(signature?.bundle); // the Sigstore bundle stored as a referrer of the image
 * ```
 */
export async function sign(image: string, options: SignOptions): Promise<ImageSignature[]> {
  const { identity, services, registry } = await signingParts(options);
  return await signImage(parseImageReference(image), {
    client: registry,
    identity,
    services,
    ...(options.format ? { format: options.format } : {}),
    ...(options.annotations ? { annotations: options.annotations } : {}),
    ...(options.recursive ? { recursive: true } : {}),
  });
}

/** Options of `attest`. */
export interface AttestOptions extends SignOptions {
  /** The predicate type URI, for example `https://slsa.dev/provenance/v0.2`. */
  readonly predicateType: string;
  /** The predicate (a JSON value). */
  readonly predicate: unknown;
}

/**
 * Attest an image: sign an in-toto statement about its digest (the predicate and its type) in
 * a DSSE envelope and store it beside the image.
 *
 * @example Attest with a key, without a transparency log
 * ```ts
 * import assert from "node:assert/strict";
 * import { attest, generateKeyPair, verifyAttestation } from "@dcosign/dcosign";
 * import { startStack } from "@dcosign/dcosign/server";
 * import { pushExampleImage } from "./oci/example_image.ts";
 *
 * await using stack = await startStack();
 * const image = await pushExampleImage(stack.registryHost, "docs/attested");
 * const key = await generateKeyPair();
 * const predicateType = "https://example.com/review/v1";
 * const made = await attest(image, { signer: key, predicateType, predicate: { approved: true } });
 * assert.equal(JSON.parse(new TextDecoder().decode(made.statement)).predicateType, predicateType);
 *
 * // No log entry was made, so the verifier must not ask for one (tlogThreshold: 0).
 * const found = await verifyAttestation(image, {
 *   key: key.publicKey,
 *   tlogThreshold: 0,
 *   predicateType,
 * });
 * assert.equal(found.signatures.length, 1);
 * ```
 */
export async function attest(image: string, options: AttestOptions): Promise<ImageAttestation> {
  const { identity, services, registry } = await signingParts(options);
  return await attestImage(parseImageReference(image), {
    client: registry,
    identity,
    services,
    predicateType: options.predicateType,
    predicate: options.predicate,
    ...(options.format ? { format: options.format } : {}),
  });
}

/** Options of `verify`: the policy, and how to reach the registry. */
export interface VerifyOptions extends VerificationPolicy {
  /** Required claims (`-a key=value`). */
  readonly annotations?: Readonly<Record<string, string>>;
  /** The registry client (default: anonymous, or `fetch`). */
  readonly registry?: RegistryClient;
  /** The fetch every client uses (default the global one). */
  readonly fetch?: typeof fetch;
}

function verifyParts(options: VerifyOptions) {
  const { annotations, registry, fetch: fetcher, ...policy } = options;
  return {
    client: registry ?? new RegistryClient(fetcher ? { fetch: fetcher } : {}),
    policy,
    ...(annotations ? { annotations } : {}),
  };
}

/**
 * Verify an image's signatures against a policy: a key, or certificate identities with a
 * trusted root. Throws a `CosignError` when none verifies (`VERIFY_NO_SIGNATURES`,
 * `VERIFY_NO_MATCHING_SIGNATURE`, ...).
 *
 * @example Keyless, by identity and issuer
 * ```ts
 * import assert from "node:assert/strict";
 * import { sign, verify } from "@dcosign/dcosign";
 * import { startStack } from "@dcosign/dcosign/server";
 * import { pushExampleImage } from "./oci/example_image.ts";
 *
 * await using stack = await startStack();
 * const image = await pushExampleImage(stack.registryHost, "docs/verified");
 * const trustedRoot = stack.trust.trustedRoot;
 * await sign(image, {
 *   keyless: { token: stack.ready.idToken!, fulcioUrl: stack.url, trustedRoot },
 *   rekorUrl: stack.url,
 * });
 *
 * // Exact identity and issuer (subjectRegExp and issuerRegExp match whole values).
 * const result = await verify(image, {
 *   trustedRoot,
 *   identities: [{ subject: stack.ready.identity!, issuer: stack.ready.issuer! }],
 * });
 * const certificate = result.signatures[0]?.result.certificate;
 * assert.equal(certificate?.identity.san, stack.ready.identity);
 * ```
 *
 * @example A public image with the public-good trust root
 * ```ts ignore
 * // Not run: it reaches ghcr.io and reads a trusted_root.json you fetched from Sigstore's TUF.
 * import { parseTrustedRoot, verify } from "@dcosign/dcosign";
 *
 * const trustedRoot = parseTrustedRoot(await Deno.readTextFile("trusted_root.json"));
 * await verify("ghcr.io/org/app:1.0", {
 *   trustedRoot,
 *   identities: [{
 *     subjectRegExp: "https://github\\.com/org/app/\\.github/workflows/release\\.yml@refs/tags/.*",
 *     issuer: "https://token.actions.githubusercontent.com",
 *   }],
 * });
 * ```
 */
export async function verify(image: string, options: VerifyOptions): Promise<ImageVerification> {
  return await verifyImageSignatures(parseImageReference(image), verifyParts(options));
}

/** Options of `verifyAttestation`. */
export interface VerifyAttestationOptions extends VerifyOptions {
  /** Only attestations of this predicate type count (never vacuous: none is a failure). */
  readonly predicateType: string;
}

/**
 * Verify an image's attestations of one predicate type; none of that type is a failure that
 * lists the types found.
 *
 * @example Attest and verify with a key and the transparency log
 * ```ts
 * import assert from "node:assert/strict";
 * import { attest, generateKeyPair, verifyAttestation } from "@dcosign/dcosign";
 * import { startStack } from "@dcosign/dcosign/server";
 * import { pushExampleImage } from "./oci/example_image.ts";
 *
 * await using stack = await startStack();
 * const image = await pushExampleImage(stack.registryHost, "docs/provenance");
 * const key = await generateKeyPair();
 * const predicateType = "https://slsa.dev/provenance/v1";
 * const predicate = { buildDefinition: { buildType: "https://example.com/build/v1" } };
 * await attest(image, { signer: key, predicateType, predicate, rekorUrl: stack.url });
 *
 * const found = await verifyAttestation(image, {
 *   key: key.publicKey,
 *   trustedRoot: stack.trust.trustedRoot,
 *   predicateType,
 * });
 * const statement = JSON.parse(new TextDecoder().decode(found.signatures[0]!.payload));
 * assert.deepEqual(statement.predicate, predicate);
 * ```
 */
export async function verifyAttestation(
  image: string,
  options: VerifyAttestationOptions,
): Promise<ImageVerification> {
  const { predicateType, ...rest } = options;
  return await verifyImageAttestations(parseImageReference(image), {
    ...verifyParts(rest),
    predicateType,
  });
}
