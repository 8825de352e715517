/**
 * Image verification's own outcomes (lib/verify/image.ts, lib/verify/image_candidates.ts), each
 * by its code, on the embedded stack: no signatures, none matching, none with a certificate, an
 * unknown tag, claims that are not signed, a malformed legacy layer, and attestations that are
 * absent or of another type. Each failing case has a passing twin.
 */

import assert from "node:assert/strict";
import { attest, sign, verify, verifyAttestation } from "../../../lib/api.ts";
import { type ErrorCode, isCosignError } from "../../../lib/errors.ts";
import { generateKeyPair } from "../../../lib/keys/private_key.ts";
import { pushExampleImage } from "../../../lib/oci/example_image.ts";
import { RegistryClient } from "../../../lib/oci/client.ts";
import { parseImageReference } from "../../../lib/oci/reference.ts";
import { attachmentReference } from "../../../lib/storage/signatures.ts";
import { startStack } from "../../../server/mod.ts";
import { sha256Digest, utf8 } from "../../../lib/util/bytes.ts";

async function fails(run: Promise<unknown>, code: ErrorCode): Promise<void> {
  await assert.rejects(run, (error) => {
    assert.ok(isCosignError(error, code), `expected ${code}, got ${error}`);
    return true;
  });
}

Deno.test("verify: an image's own outcomes, each by its code", async (t) => {
  await using stack = await startStack();
  const key = await generateKeyPair();
  const other = await generateKeyPair();
  const trustedRoot = stack.trust.trustedRoot;
  const signed = await pushExampleImage(stack.registryHost, "verify/signed");
  await sign(signed, { signer: key, rekorUrl: stack.url, annotations: { env: "prod" } });
  const legacy = await pushExampleImage(stack.registryHost, "verify/legacy");
  await sign(legacy, { signer: key, rekorUrl: stack.url, format: "legacy" });

  await t.step("an unsigned image is VERIFY_NO_SIGNATURES", async () => {
    const unsigned = await pushExampleImage(stack.registryHost, "verify/unsigned");
    await fails(verify(unsigned, { key: key.publicKey, trustedRoot }), "VERIFY_NO_SIGNATURES");
  });

  await t.step("a tag the registry does not have is VERIFY_IMAGE_TAG_NOT_FOUND", async () => {
    await fails(
      verify(`${stack.registryHost}/verify/signed:absent`, { key: key.publicKey, trustedRoot }),
      "VERIFY_IMAGE_TAG_NOT_FOUND",
    );
  });

  await t.step("signatures by another key are VERIFY_NO_MATCHING_SIGNATURE", async () => {
    await fails(
      verify(signed, { key: other.publicKey, trustedRoot }),
      "VERIFY_NO_MATCHING_SIGNATURE",
    );
    const passed = await verify(signed, { key: key.publicKey, trustedRoot });
    assert.equal(passed.signatures.length, 1);
  });

  await t.step(
    "keyless verification of key-only legacy signatures is VERIFY_NO_CERTIFICATE",
    async () => {
      await fails(
        verify(legacy, {
          trustedRoot,
          identities: [{ subject: "signer@dcosign.test", issuer: stack.ready.issuer! }],
        }),
        "VERIFY_NO_CERTIFICATE",
      );
      await verify(legacy, { key: key.publicKey, trustedRoot });
    },
  );

  await t.step(
    "an annotation that was not signed rejects the signature (VERIFY_CLAIMS_MISMATCH)",
    async () => {
      await assert.rejects(
        verify(signed, { key: key.publicKey, trustedRoot, annotations: { env: "dev" } }),
        (error) => {
          // Each candidate's claim failure is listed in the image's one failure.
          assert.ok(isCosignError(error, "VERIFY_NO_MATCHING_SIGNATURE"), String(error));
          assert.match(error.message, /annotations do not include \{"env":"dev"\}/);
          return true;
        },
      );
      await verify(signed, { key: key.publicKey, trustedRoot, annotations: { env: "prod" } });
    },
  );

  await t.step("attestations absent, or only of another type, fail by name", async () => {
    await fails(
      verifyAttestation(legacy, {
        key: key.publicKey,
        trustedRoot,
        predicateType: "https://slsa.dev/provenance/v1",
      }),
      "VERIFY_NO_ATTESTATIONS",
    );
    await attest(signed, {
      signer: key,
      rekorUrl: stack.url,
      predicateType: "https://slsa.dev/provenance/v1",
      predicate: { buildDefinition: { buildType: "test" } },
    });
    await fails(
      verifyAttestation(signed, {
        key: key.publicKey,
        trustedRoot,
        predicateType: "https://spdx.dev/Document",
      }),
      "VERIFY_NO_MATCHING_ATTESTATION",
    );
    const passed = await verifyAttestation(signed, {
      key: key.publicKey,
      trustedRoot,
      predicateType: "https://slsa.dev/provenance/v1",
    });
    assert.equal(passed.signatures.length, 1);
  });

  await t.step(
    "a legacy .sig layer without its signature annotation is VERIFY_MALFORMED_LAYER",
    async () => {
      const image = await pushExampleImage(stack.registryHost, "verify/malformed");
      const reference = parseImageReference(image);
      const client = new RegistryClient();
      const digest = await client.resolveDigest(reference);
      // A .sig manifest with one payload layer and no dev.cosignproject.cosign/signature annotation.
      const payload = utf8(
        JSON.stringify({ critical: { type: "cosign container image signature" } }),
      );
      const repository = { registry: reference.registry, repository: reference.repository };
      await client.uploadBlob(repository, payload);
      const config = utf8("{}");
      await client.uploadBlob(repository, config);
      const manifest = utf8(JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        config: {
          mediaType: "application/vnd.oci.image.config.v1+json",
          digest: sha256Digest(config),
          size: config.length,
        },
        layers: [{
          mediaType: "application/vnd.dev.cosign.simplesigning.v1+json",
          digest: sha256Digest(payload),
          size: payload.length,
        }],
      }));
      await client.putManifest(
        attachmentReference({ ...repository, digest }, "sig"),
        manifest,
        "application/vnd.oci.image.manifest.v1+json",
      );
      await assert.rejects(
        verify(image, { key: key.publicKey, trustedRoot }),
        (error) => {
          assert.ok(isCosignError(error, "VERIFY_NO_MATCHING_SIGNATURE"), String(error));
          assert.match(error.message, /no signature annotation/);
          return true;
        },
      );
    },
  );
});
