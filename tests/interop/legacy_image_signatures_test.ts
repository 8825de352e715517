/**
 * Real legacy cosign image signatures (sigstore-rs fixtures) through our verification pipeline.
 */

import assert from "node:assert/strict";
import type { Bytes } from "../../lib/util/bytes.ts";
import { isCosignError } from "../../lib/errors.ts";
import { PublicKey } from "../../lib/keys/public_key.ts";
import { parseTrustedRoot } from "../../lib/trust/trusted_root.ts";
import { verifySignedEntity } from "../../lib/verify/pipeline.ts";
import { legacyLayerEntity } from "../../lib/verify/image_candidates.ts";
import { INTEROP, readInteropBytes, readInteropText, requireComponents } from "../_support.ts";

if (requireComponents("legacy cosign image signatures from sigstore-rs", INTEROP)) {
  const KEYED = "fixtures/sigstore-rs/legacy-image-signature-key";
  const KEYLESS = "fixtures/sigstore-rs/legacy-image-signature-keyless-2021";
  const prod = () =>
    parseTrustedRoot(readInteropText("conformance/extra/production-trusted_root.json"));

  const keyedEntity = (payload: Bytes) =>
    legacyLayerEntity(
      { "dev.cosignproject.cosign/signature": readInteropText(`${KEYED}/signature.b64`).trim() },
      payload,
      "sig",
    );

  Deno.test("a key-signed legacy image signature from cosign verifies with its key", async () => {
    const payload = readInteropBytes(`${KEYED}/payload.json`);
    const { entity } = keyedEntity(payload);
    const key = PublicKey.fromPem(readInteropText(`${KEYED}/cosign.pub`));
    const result = await verifySignedEntity(entity, { kind: "bytes", bytes: payload }, {
      key,
      tlogThreshold: 0,
    });
    assert.ok(result.key.equals(key));
  });

  Deno.test("a key-signed legacy signature fails with a modified payload byte or another key", async () => {
    const payload = readInteropBytes(`${KEYED}/payload.json`);
    const key = PublicKey.fromPem(readInteropText(`${KEYED}/cosign.pub`));
    const tampered = Uint8Array.from(payload) as Bytes;
    tampered[40]! ^= 1;
    await assert.rejects(
      verifySignedEntity(keyedEntity(tampered).entity, { kind: "bytes", bytes: tampered }, {
        key,
        tlogThreshold: 0,
      }),
      (e) => isCosignError(e, "VERIFY_SIGNATURE_INVALID"),
    );
    const wrong = PublicKey.fromPem(readInteropText(`${KEYED}/wrong.pub`));
    await assert.rejects(
      verifySignedEntity(keyedEntity(payload).entity, { kind: "bytes", bytes: payload }, {
        key: wrong,
        tlogThreshold: 0,
      }),
      (e) => isCosignError(e, "VERIFY_SIGNATURE_INVALID"),
    );
  });

  const keylessPolicy = () => ({
    trustedRoot: prod(),
    identities: [{ subject: "flavio@castelli.me", issuerRegExp: ".*" }],
    // A 2021 Fulcio certificate: no SCT yet, and no OIDC issuer extension.
    ctlogThreshold: 0,
  });

  const keylessLayer = () => ({
    annotations: JSON.parse(readInteropText(`${KEYLESS}/layer-annotations.json`)),
    payload: readInteropBytes(`${KEYLESS}/payload.json`),
  });

  Deno.test("a 2021 keyless legacy signature verifies: certificate, SET and signature", async () => {
    const { annotations, payload } = keylessLayer();
    const { entity } = legacyLayerEntity(annotations, payload, "sig");
    const result = await verifySignedEntity(
      entity,
      { kind: "bytes", bytes: payload },
      keylessPolicy(),
    );
    assert.equal(result.certificate?.identity.san, "flavio@castelli.me");
    assert.equal(result.verifiedTimes[0]?.time.getTime(), 1634714717_000);
    assert.ok(result.tlogEntries[0]?.setVerified);
  });

  Deno.test("the 2021 keyless signature fails with a modified payload, a wrong identity or a copied SET", async () => {
    const { annotations, payload } = keylessLayer();
    const tampered = Uint8Array.from(payload) as Bytes;
    tampered[30]! ^= 1;
    await assert.rejects(
      verifySignedEntity(
        legacyLayerEntity(annotations, tampered, "sig").entity,
        { kind: "bytes", bytes: tampered },
        keylessPolicy(),
      ),
      (e) => isCosignError(e, "VERIFY_SIGNATURE_INVALID"),
    );
    await assert.rejects(
      verifySignedEntity(
        legacyLayerEntity(annotations, payload, "sig").entity,
        { kind: "bytes", bytes: payload },
        { ...keylessPolicy(), identities: [{ subject: "castelli.me", issuerRegExp: ".*" }] },
      ),
      (e) => isCosignError(e, "VERIFY_IDENTITY_MISMATCH"),
    );
    // SECURITY.md row 1: a valid SET of another entry, attached to this signature.
    const copied = {
      ...annotations,
      "dev.sigstore.cosign/bundle": readInteropText(
        "fixtures/sigstore-rs/legacy-rekor-bundle-rekord-783606.json",
      ),
    };
    await assert.rejects(
      verifySignedEntity(
        legacyLayerEntity(copied, payload, "sig").entity,
        { kind: "bytes", bytes: payload },
        keylessPolicy(),
      ),
      (e) => isCosignError(e) && e.code.startsWith("REKOR_"),
    );
  });
}
