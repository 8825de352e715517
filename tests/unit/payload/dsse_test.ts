import assert from "node:assert/strict";
import { fc } from "../../_deps.ts";
import { type Bytes, fromUtf8, toBase64, utf8 } from "../../../lib/util/bytes.ts";
import { derBitString, derOid, derSequence } from "../../../lib/util/der.ts";
import {
  type Envelope,
  envelopeBytes,
  MAX_ENVELOPE_SIGNATURES,
  pae,
  parseEnvelope,
  serializeEnvelope,
} from "../../../lib/payload/dsse.ts";
import { isCosignError } from "../../../lib/errors.ts";
import { OID } from "../../../lib/x509/oids.ts";
import { ecdsaRawToDer, PublicKey, verifySignature } from "../../../lib/keys/public_key.ts";
import { INTEROP, readInteropText, REPO_ROOT, requireComponents } from "../../_support.ts";

const VECTOR = JSON.parse(
  Deno.readTextFileSync(`${REPO_ROOT}tests/testdata/dsse/protocol_vector.json`),
) as {
  payloadType: string;
  serializedBody: string;
  pae: string;
  key: { x: string; y: string };
  envelope: string;
};

/** The P-256 key of the DSSE protocol.md vector, from its decimal point coordinates. */
function vectorKey(): PublicKey {
  const coordinate = (decimal: string) =>
    Uint8Array.fromHex(BigInt(decimal).toString(16).padStart(64, "0"));
  const point = new Uint8Array([4, ...coordinate(VECTOR.key.x), ...coordinate(VECTOR.key.y)]);
  return PublicKey.fromSpki(
    derSequence(derSequence(derOid(OID.EC_PUBLIC_KEY), derOid(OID.P256)), derBitString(point)),
  );
}

Deno.test("pae() matches the DSSE protocol.md test vector", () => {
  const encoded = pae(VECTOR.payloadType, utf8(VECTOR.serializedBody));
  assert.equal(fromUtf8(encoded), VECTOR.pae);
});

Deno.test("pae() counts bytes, not UTF-16 code units", () => {
  assert.equal(fromUtf8(pae("t\u00e9", utf8("\u{1F600}"))), "DSSEv1 3 t\u00e9 4 \u{1F600}");
  assert.equal(fromUtf8(pae("", new Uint8Array())), "DSSEv1 0  0 ");
});

Deno.test("parseEnvelope() reads the DSSE spec envelope, whose signature (DER-encoded) verifies over its PAE", async () => {
  const envelope = parseEnvelope(VECTOR.envelope);
  assert.equal(envelope.payloadType, VECTOR.payloadType);
  assert.equal(fromUtf8(envelope.payload), VECTOR.serializedBody);
  assert.equal(envelope.signatures.length, 1);
  assert.equal(envelope.signatures[0]!.keyid, undefined);
  const key = vectorKey();
  const signed = pae(envelope.payloadType, envelope.payload);
  // The spec's example signs with python-ecdsa's raw r||s; ECDSA signatures are DER only
  // (issue 12: one encoding per signature), so the raw form is refused and its DER form verifies.
  const raw = envelope.signatures[0]!.sig;
  assert.equal(raw.length, 64);
  assert.equal(await verifySignature(key, signed, raw), false);
  const der = ecdsaRawToDer(raw);
  assert.equal(await verifySignature(key, signed, der), true);
  const tampered = pae(envelope.payloadType, utf8("hello world!"));
  assert.equal(await verifySignature(key, tampered, der), false);
});

Deno.test("parseEnvelope() keeps the exact input bytes, whitespace and key order included", () => {
  const envelope = parseEnvelope(utf8(VECTOR.envelope));
  assert.equal(fromUtf8(envelope.raw!), VECTOR.envelope);
  assert.equal(fromUtf8(envelopeBytes(envelope)), VECTOR.envelope);
  const { raw: _raw, ...parsedOnly } = envelope;
  assert.equal(fromUtf8(envelopeBytes(parsedOnly)), serializeEnvelope(envelope));
});

Deno.test("parseEnvelope() accepts both key orders, missing or empty keyid and URL-safe base64", () => {
  const payload = new Uint8Array([0xfb, 0xff, 0xfe]); // base64 "+//+", URL-safe "-__-"
  const texts = [
    `{"payload":"+//+","payloadType":"t","signatures":[{"sig":"AQ=="}]}`,
    `{"payloadType":"t","payload":"-__-","signatures":[{"keyid":"","sig":"AQ"}]}`,
    `{"signatures":[{"sig":"AQ==","keyid":null}],"payload":"+//+","payloadType":"t"}`,
  ];
  for (const text of texts) {
    const envelope = parseEnvelope(text);
    assert.deepEqual(envelope.payload, payload);
    assert.deepEqual(envelope.signatures, [{ sig: new Uint8Array([1]) }]);
  }
  const withKeyid = parseEnvelope(
    `{"payload":"","payloadType":"t","signatures":[{"sig":"AQ==","keyid":"k1"}]}`,
  );
  assert.equal(withKeyid.signatures[0]!.keyid, "k1");
});

Deno.test("serializeEnvelope() writes cosign v3's and older cosign's forms byte for byte", () => {
  const envelope: Envelope = {
    payloadType: "application/vnd.in-toto+json",
    payload: utf8("{}"),
    signatures: [{ sig: new Uint8Array([1, 2]) }],
  };
  assert.equal(
    serializeEnvelope(envelope),
    `{"payload":"e30=","payloadType":"application/vnd.in-toto+json","signatures":[{"sig":"AQI="}]}`,
  );
  assert.equal(
    serializeEnvelope(envelope, { style: "legacy" }),
    `{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[{"keyid":"","sig":"AQI="}]}`,
  );
  const keyed = { ...envelope, signatures: [{ sig: new Uint8Array([1]), keyid: "a<b" }] };
  assert.equal(
    serializeEnvelope(keyed),
    `{"payload":"e30=","payloadType":"application/vnd.in-toto+json","signatures":[{"sig":"AQ==","keyid":"a\\u003cb"}]}`,
  );
});

Deno.test("parseEnvelope() refuses malformed envelopes with PAYLOAD_MALFORMED naming the field", () => {
  const cases: [string, RegExp][] = [
    [
      `{"payload":"e30=","payloadType":"t","signatures":[null]}`,
      /signatures\[0\]: expected an object/,
    ],
    [
      `{"payload":"e30=","payloadType":"t","signatures":[{}]}`,
      /signatures\[0\]\.sig: expected a string/,
    ],
    [`{"payload":"e30=","payloadType":"t","signatures":[{"sig":""}]}`, /sig: must not be empty/],
    [`{"payload":"e30=","payloadType":"t","signatures":[{"sig":"!!"}]}`, /sig: invalid base64/],
    [`{"payload":1,"payloadType":"t","signatures":[{"sig":"AQ=="}]}`, /payload: expected a string/],
    [`{"payload":"e30=","payloadType":"","signatures":[{"sig":"AQ=="}]}`, /payloadType: must not/],
    [`{"payload":"e30=","payloadType":"t","signatures":{}}`, /signatures: expected an array/],
    [`{"payload":"e30=","payloadType":"t","signatures":[{"sig":"AQ==","keyid":7}]}`, /keyid/],
    [`{"payload":"e30=","payloadType":"t","sig`, /Invalid JSON/],
    [`[]`, /envelope: expected an object/],
    [
      `{"payload":"e30=","payloadType":"t","payload_type":"u","signatures":[{"sig":"AQ=="}]}`,
      /"payload_type" is another spelling of "payloadType"/,
    ],
    [
      `{"payload":"e30=","payloadType":"t","signatures":[{"sig":"AQ==","Sig":"Ag=="}]}`,
      /"Sig" is another spelling of "sig"/,
    ],
  ];
  for (const [text, message] of cases) {
    assert.throws(
      () => parseEnvelope(text),
      (e) => isCosignError(e, "PAYLOAD_MALFORMED") && message.test(e.message),
      text,
    );
  }
});

Deno.test("parseEnvelope() bounds the signature count and enforces exactly one on request", () => {
  const make = (n: number) =>
    JSON.stringify({
      payload: "e30=",
      payloadType: "t",
      signatures: Array.from({ length: n }, () => ({ sig: "AQ==" })),
    });
  assert.throws(() => parseEnvelope(make(0)), (e) => isCosignError(e, "PAYLOAD_SIGNATURE_COUNT"));
  assert.throws(
    () => parseEnvelope(make(2), { exactlyOneSignature: true }),
    (e) => isCosignError(e, "PAYLOAD_SIGNATURE_COUNT") && /found 2/.test(e.message),
  );
  assert.equal(parseEnvelope(make(2)).signatures.length, 2);
  assert.throws(
    () => parseEnvelope(make(MAX_ENVELOPE_SIGNATURES + 1)),
    (e) => isCosignError(e, "PAYLOAD_MALFORMED") && /more than 16 items/.test(e.message),
  );
  assert.throws(
    () => parseEnvelope(make(1), { maxBytes: 10 }),
    (e) => isCosignError(e, "PAYLOAD_TOO_LARGE"),
  );
});

Deno.test("parseEnvelope() reads serializeEnvelope() output back unchanged (property)", () => {
  const signature = fc.record(
    { sig: fc.uint8Array({ minLength: 1, maxLength: 80 }), keyid: fc.string({ minLength: 1 }) },
    { requiredKeys: ["sig"] },
  );
  const envelope = fc.record({
    payloadType: fc.string({ minLength: 1 }),
    payload: fc.uint8Array({ maxLength: 200 }),
    signatures: fc.array(signature, { minLength: 1, maxLength: 4 }),
  });
  fc.assert(fc.property(envelope, fc.constantFrom("v3", "legacy" as const), (env, style) => {
    const normalized: Envelope = {
      payloadType: env.payloadType.toWellFormed(),
      payload: Uint8Array.from(env.payload),
      signatures: env.signatures.map((s) =>
        s.keyid === undefined
          ? { sig: Uint8Array.from(s.sig) }
          : { sig: Uint8Array.from(s.sig), keyid: s.keyid.toWellFormed() }
      ),
    };
    const text = serializeEnvelope(normalized, { style: style as "v3" | "legacy" });
    const { raw, ...parsed } = parseEnvelope(text);
    assert.deepEqual(parsed, normalized);
    assert.equal(fromUtf8(raw!), text);
  }));
});

if (requireComponents("cosign verify-blob-attestation envelopes", INTEROP)) {
  const dir = "fixtures/cosign/verify-blob-attestation";
  const names = [
    "blobSLSAProvenanceSignature",
    "dssePredicateEmptySubject",
    "dssePredicateMissingSha256",
    "dssePredicateMultipleSubjects",
    "dssePredicateMultipleSubjectsInvalid",
  ];

  Deno.test("parseEnvelope() reads cosign attest-blob envelopes, whose signatures verify with cosign.pub", async () => {
    const key = PublicKey.fromPem(readInteropText(`${dir}/cosign.pub`));
    for (const name of names) {
      const text = readInteropText(`${dir}/${name}.dsse.json`);
      const envelope = parseEnvelope(text, { exactlyOneSignature: true });
      assert.equal(envelope.payloadType, "application/vnd.in-toto+json", name);
      assert.equal(fromUtf8(envelope.raw!), text);
      const signed: Bytes = pae(envelope.payloadType, envelope.payload);
      assert.equal(await verifySignature(key, signed, envelope.signatures[0]!.sig), true, name);
      // the signature binds the payload type too
      const retyped = pae("application/json", envelope.payload);
      assert.equal(await verifySignature(key, retyped, envelope.signatures[0]!.sig), false, name);
      assert.equal(toBase64(envelope.payload), JSON.parse(text).payload);
    }
  });
}
