/**
 * dcosign: Sigstore Cosign for Deno. Sign and verify container images, blobs and in-toto
 * attestations, with keys or keyless (OIDC -> Fulcio -> Rekor), wire-compatible with cosign.
 *
 * @example Verify an image signed with a key
 * ```ts ignore
 * import { parseImageReference, PublicKey, RegistryClient, verifyImageSignatures } from "./mod.ts";
 *
 * const key = PublicKey.fromPem(await Deno.readTextFile("cosign.pub"));
 * const result = await verifyImageSignatures(parseImageReference("ghcr.io/org/app:1.0"), {
 *   client: new RegistryClient(),
 *   policy: { key, tlogThreshold: 0 },
 * });
 * console.log(result.digest);
 * ```
 *
 * @module
 */

export { attestImage, signImage } from "./lib/sign_image.ts";
export { verifyImageAttestations, verifyImageSignatures } from "./lib/verify_image.ts";
export { generateKeyPair, importPrivateKeyPem, PrivateKey } from "./lib/keys.ts";
export { decryptPrivateKey, encryptPrivateKey } from "./lib/key_file.ts";
export { PublicKey } from "./lib/signer.ts";
export { RegistryClient } from "./lib/oci.ts";
export { parseImageReference } from "./lib/oci_reference.ts";
export { parseBundle, serializeBundle } from "./lib/bundle.ts";
export { parseTrustedRoot } from "./lib/trust.ts";
export { CosignError } from "./lib/errors.ts";
