import assert from "node:assert/strict";
import { fc } from "../../_deps.ts";
import { type Bytes, digest, toBase64, utf8 } from "../../../lib/util/bytes.ts";
import { children, derContext, derInteger, derSequence, parseDer } from "../../../lib/util/der.ts";
import {
  createLeafCertificate,
  createRootCertificate,
} from "../../../server/fulcio/certificate_builder.ts";
import { isCosignError } from "../../../lib/errors.ts";
import { ecdsaRawToDer, PublicKey, type Signer } from "../../../lib/keys/public_key.ts";
import { HASH_OID } from "../../../lib/x509/oids.ts";
import {
  parseSignedTimestamp,
  verifyTimestamp,
  verifyTimestamps,
} from "../../../lib/timestamp/token.ts";
import {
  encodeTimestampRequest,
  parseTimestampRequest,
  requestTimestamp,
} from "../../../lib/timestamp/client.ts";
import type { TrustedAuthority } from "../../../lib/trust/trusted_root.ts";
import { OID } from "../../../lib/x509/oids.ts";
import { TimestampAuthority } from "../../../server/tsa/timestamp_authority.ts";
import { tsaRoutes } from "../../../server/tsa/routes.ts";

const SIGNATURE = utf8("the artifact signature bytes");
// Whole seconds: the embedded TSA states genTime in whole seconds (see server/tsa/timestamp_authority.ts).
const T0 = new Date("2001-02-03T04:05:06Z");
const DAY = 24 * 3600 * 1000;

async function ecdsaKey(): Promise<{ signer: Signer; pkcs8: Bytes }> {
  const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ]);
  const publicKey = PublicKey.fromSpki(
    new Uint8Array(await crypto.subtle.exportKey("spki", pair.publicKey)),
  );
  const signer: Signer = {
    publicKey,
    async sign(data, options) {
      const hash = { sha256: "SHA-256", sha384: "SHA-384", sha512: "SHA-512" }[
        options?.hash ?? "sha256"
      ];
      const raw = await crypto.subtle.sign(
        { name: "ECDSA", hash },
        pair.privateKey,
        data as Uint8Array<ArrayBuffer>,
      );
      return ecdsaRawToDer(new Uint8Array(raw));
    },
  };
  return { signer, pkcs8: new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey)) };
}

function rootOf(...authorities: TrustedAuthority[]) {
  return { timestampAuthorities: authorities };
}

async function stamp(
  tsa: TimestampAuthority,
  options: Parameters<typeof encodeTimestampRequest>[1] = {},
  now = T0,
) {
  return await tsa.issue(encodeTimestampRequest(SIGNATURE, options).request, now);
}

/** The same response with another certificate bag in its SignedData. */
function withCertificates(tsr: Uint8Array, certs: readonly Uint8Array[]): Bytes {
  const [status, token] = children(parseDer(tsr));
  const [oid, wrapper] = children(token!);
  const fields = children(parseDer(wrapper!.value)).filter((f) => f.tag !== 0xa0).map((f) => f.raw);
  if (certs.length) fields.splice(3, 0, derContext(0, true, ...certs));
  return derSequence(
    status!.raw,
    derSequence(oid!.raw, derContext(0, true, derSequence(...fields))),
  );
}

Deno.test("verifyTimestamp() verifies the embedded TSA's answers for SHA-256/384/512 imprints", async () => {
  const tsa = await TimestampAuthority.create({ now: () => T0 });
  for (const hash of ["sha256", "sha384", "sha512"] as const) {
    const result = await verifyTimestamp(
      await stamp(tsa, { hash }),
      SIGNATURE,
      rootOf(tsa.trustedAuthority()),
    );
    assert.equal(result.genTime.getTime(), T0.getTime());
    assert.equal(result.tstInfo.hashAlgorithm, HASH_OID[hash]);
    assert.equal(result.authority.uri, tsa.trustedAuthority().uri);
    assert.deepEqual(result.chain.map((c) => c.raw), tsa.chain.map((c) => c.raw));
  }
});

Deno.test("verifyTimestamp() fails when the imprint is over other signature bytes", async () => {
  const tsa = await TimestampAuthority.create({ now: () => T0 });
  await assert.rejects(
    verifyTimestamp(await stamp(tsa), utf8("another signature"), rootOf(tsa.trustedAuthority())),
    (e) => isCosignError(e, "TSA_IMPRINT_MISMATCH"),
  );
});

Deno.test("verifyTimestamp() fails for a TSA missing from the trusted root, with or without embedded certs", async () => {
  const tsa = await TimestampAuthority.create({ now: () => T0 });
  const other = await TimestampAuthority.create({ now: () => T0 });
  await assert.rejects(
    verifyTimestamp(await stamp(tsa), SIGNATURE, rootOf(other.trustedAuthority())),
    (e) => isCosignError(e, "TSA_UNTRUSTED"),
  );
  await assert.rejects(
    verifyTimestamp(
      await stamp(tsa, { certReq: false }),
      SIGNATURE,
      rootOf(other.trustedAuthority()),
    ),
    (e) => isCosignError(e, "TSA_UNTRUSTED") && /no certificate matches the signer/.test(e.message),
  );
  // Without embedded certificates the trusted root supplies the leaf.
  const ok = await verifyTimestamp(
    await stamp(tsa, { certReq: false }),
    SIGNATURE,
    rootOf(tsa.trustedAuthority()),
  );
  assert.equal(ok.chain.length, 2);
  await assert.rejects(
    verifyTimestamp(await stamp(tsa), SIGNATURE, rootOf()),
    (e) => isCosignError(e, "TSA_OUTSIDE_VALIDITY") && /lists none/.test(e.message),
  );
});

Deno.test("verifyTimestamp() applies the authority validFor as a closed interval at genTime", async () => {
  const tsa = await TimestampAuthority.create({ now: () => T0 });
  const authority = tsa.trustedAuthority();
  const token = await stamp(tsa);
  const closed = { ...authority, validFor: { start: authority.validFor.start, end: T0 } };
  assert.equal(
    (await verifyTimestamp(token, SIGNATURE, rootOf(closed))).genTime.getTime(),
    T0.getTime(),
  );
  const ended = {
    ...authority,
    validFor: { start: authority.validFor.start, end: new Date(T0.getTime() - 1) },
  };
  await assert.rejects(
    verifyTimestamp(token, SIGNATURE, rootOf(ended)),
    (e) => isCosignError(e, "TSA_OUTSIDE_VALIDITY"),
  );
  await assert.rejects(
    verifyTimestamp(token, SIGNATURE, rootOf({ ...authority, problem: "validFor has no start" })),
    (e) => isCosignError(e, "TSA_OUTSIDE_VALIDITY") && /validFor has no start/.test(e.message),
  );
});

Deno.test("verifyTimestamp() checks the chain at genTime: expired since is fine, outside is not", async () => {
  const tsa = await TimestampAuthority.create({ now: () => T0 });
  // The chain (10 years from 2001) has long expired; it was valid at genTime.
  assert.ok(tsa.chain[0]!.notAfter < new Date());
  await verifyTimestamp(
    await stamp(tsa, {}, new Date(T0.getTime() + DAY)),
    SIGNATURE,
    rootOf(tsa.trustedAuthority()),
  );
  const late = await stamp(tsa, {}, new Date(T0.getTime() + 11 * 365 * DAY));
  await assert.rejects(
    verifyTimestamp(late, SIGNATURE, rootOf(tsa.trustedAuthority())),
    (e) => isCosignError(e, "TSA_OUTSIDE_VALIDITY") && /not valid at/.test(e.message),
  );
});

Deno.test("verifyTimestamp() rejects a flipped signature byte and a tampered TSTInfo", async () => {
  const tsa = await TimestampAuthority.create({ now: () => T0 });
  const token = await stamp(tsa);
  const flipped = Uint8Array.from(token);
  flipped[flipped.length - 1]! ^= 1;
  await assert.rejects(
    verifyTimestamp(flipped, SIGNATURE, rootOf(tsa.trustedAuthority())),
    (e) => isCosignError(e, "TSA_BAD_SIGNATURE"),
  );
  const tstInfo = parseSignedTimestamp(token).tstInfo.raw;
  const at = token.findIndex((_, i) => tstInfo.every((b, j) => token[i + j] === b));
  const tampered = Uint8Array.from(token);
  tampered[at + tstInfo.length - 1]! ^= 1; // last byte of the TSA name in the TSTInfo
  await assert.rejects(
    verifyTimestamp(tampered, SIGNATURE, rootOf(tsa.trustedAuthority())),
    (e) => isCosignError(e, "TSA_BAD_SIGNATURE") || isCosignError(e, "TSA_MALFORMED"),
  );
});

Deno.test("a forged certificate prepended to the CMS bag does not change the signer (SECURITY row 27)", async () => {
  const tsa = await TimestampAuthority.create({ now: () => T0 });
  const leaf = tsa.chain[0]!;
  const attacker = await ecdsaKey();
  // Same issuer name and serial as the real leaf, attacker's key, EKU timeStamping.
  const fakeRoot = await createRootCertificate(attacker.signer, {
    subject: { O: "dcosign", CN: "dcosign-tsa-root" },
    notBefore: new Date(0),
    notAfter: new Date(4e12),
  });
  const forged = await createLeafCertificate(attacker.signer, fakeRoot, {
    publicKey: attacker.signer.publicKey,
    subject: { CN: "forged" },
    notBefore: new Date(0),
    notAfter: new Date(4e12),
    serial: leaf.serial,
    extKeyUsage: [OID.EKU_TIME_STAMPING],
    criticalExtKeyUsage: true,
  });
  const bag = withCertificates(await stamp(tsa), [forged.raw, leaf.raw]);
  const result = await verifyTimestamp(bag, SIGNATURE, rootOf(tsa.trustedAuthority()));
  assert.deepEqual(result.chain[0]!.raw, leaf.raw);
});

Deno.test("the EKU check applies to the actual signer, not the first certificate in the bag", async () => {
  const key = await ecdsaKey();
  const rootKey = await ecdsaKey();
  const root = await createRootCertificate(rootKey.signer, {
    subject: { CN: "tsa root" },
    notBefore: new Date(0),
    notAfter: new Date(4e12),
  });
  const codeSigningLeaf = await createLeafCertificate(rootKey.signer, root, {
    publicKey: key.signer.publicKey,
    subject: { CN: "not a TSA" },
    notBefore: new Date(0),
    notAfter: new Date(4e12),
  });
  const tsa = await TimestampAuthority.fromJSON({
    key: toBase64(key.pkcs8),
    certificates: [toBase64(codeSigningLeaf.raw), toBase64(root.raw)],
  });
  const timestamper = await createLeafCertificate(rootKey.signer, root, {
    publicKey: (await ecdsaKey()).signer.publicKey,
    subject: { CN: "a real TSA leaf" },
    notBefore: new Date(0),
    notAfter: new Date(4e12),
    extKeyUsage: [OID.EKU_TIME_STAMPING],
    criticalExtKeyUsage: true,
  });
  const token = withCertificates(await stamp(tsa), [timestamper.raw, codeSigningLeaf.raw]);
  await assert.rejects(
    verifyTimestamp(token, SIGNATURE, rootOf(tsa.trustedAuthority())),
    (e) => isCosignError(e, "TSA_UNTRUSTED") && /timeStamping/.test(e.message),
  );
});

Deno.test("parseSignedTimestamp() reports refused and malformed responses", async () => {
  const tsa = await TimestampAuthority.create({ now: () => T0 });
  assert.throws(
    () => parseSignedTimestamp(derSequence(derSequence(derInteger(2)))),
    (e) => isCosignError(e, "TSA_NOT_GRANTED"),
  );
  for (
    const bad of [
      new Uint8Array(0),
      Uint8Array.of(0x30, 0x03, 1, 2),
      derSequence(derSequence(derInteger(0))),
    ]
  ) {
    assert.throws(() => parseSignedTimestamp(bad), (e) => isCosignError(e, "TSA_MALFORMED"));
  }
  assert.throws(
    () => parseSignedTimestamp(new Uint8Array(70_000)),
    (e) => isCosignError(e, "TSA_MALFORMED"),
  );
  // A bare TimeStampToken (ContentInfo) parses like the response that wraps it.
  const response = await stamp(tsa);
  const token = children(parseDer(response))[1]!.raw;
  assert.equal(parseSignedTimestamp(token).tstInfo.genTime.getTime(), T0.getTime());
});

Deno.test("verifyTimestamps() counts distinct authorities toward the threshold", async () => {
  const a = await TimestampAuthority.create({ now: () => T0 });
  const b = await TimestampAuthority.create({ now: () => T0 });
  const root = rootOf(a.trustedAuthority(), b.trustedAuthority());
  const twiceA = [await stamp(a), await stamp(a)];
  assert.equal((await verifyTimestamps(twiceA, SIGNATURE, root)).length, 1);
  await assert.rejects(
    verifyTimestamps(twiceA, SIGNATURE, root, { threshold: 2 }),
    (e) => isCosignError(e, "TSA_THRESHOLD"),
  );
  assert.equal(
    (await verifyTimestamps([await stamp(a), await stamp(b)], SIGNATURE, root, { threshold: 2 }))
      .length,
    2,
  );
  await assert.rejects(
    verifyTimestamps([], SIGNATURE, root),
    (e) => isCosignError(e, "TSA_THRESHOLD"),
  );
});

Deno.test("encodeTimestampRequest() and parseTimestampRequest() round-trip", () => {
  fc.assert(
    fc.property(
      fc.constantFrom("sha256", "sha384", "sha512"),
      fc.bigInt({ min: 0n, max: (1n << 160n) - 1n }),
      fc.boolean(),
      fc.uint8Array({ maxLength: 64 }),
      (hash, nonce, certReq, signature) => {
        const { request } = encodeTimestampRequest(signature, { hash, nonce, certReq });
        assert.deepEqual(parseTimestampRequest(request), {
          hash,
          hashedMessage: digest(hash, signature),
          nonce,
          certReq,
        });
      },
    ),
  );
});

Deno.test("requestTimestamp() posts a query and checks imprint, nonce, status and size", async () => {
  const tsa = await TimestampAuthority.create({ now: () => T0 });
  const app = tsaRoutes(tsa);
  const viaApp: typeof fetch = (input, init) => Promise.resolve(app.request(String(input), init));
  const tsr = await requestTimestamp("http://tsa.test/api/v1/timestamp", SIGNATURE, {
    fetch: viaApp,
  });
  assert.equal(
    (await verifyTimestamp(tsr, SIGNATURE, rootOf(tsa.trustedAuthority()))).genTime.getTime(),
    T0.getTime(),
  );

  const answer = (body: BodyInit | null, status = 200): typeof fetch => () =>
    Promise.resolve(new Response(body, { status }));
  await assert.rejects(
    requestTimestamp("http://tsa.test/x", SIGNATURE, { fetch: answer("boom", 500) }),
    (e) => isCosignError(e, "TSA_REQUEST_FAILED") && /500/.test(e.message),
  );
  await assert.rejects(
    requestTimestamp("http://tsa.test/x", SIGNATURE, { fetch: answer(new Uint8Array(100_000)) }),
    (e) => isCosignError(e, "TSA_RESPONSE_TOO_LARGE"),
  );
  const stale = await stamp(tsa, { nonce: 1n });
  await assert.rejects(
    requestTimestamp("http://tsa.test/x", SIGNATURE, { fetch: answer(stale) }),
    (e) => isCosignError(e, "TSA_MALFORMED") && /nonce/.test(e.message),
  );
  await assert.rejects(
    requestTimestamp("http://tsa.test/x", utf8("other"), { fetch: answer(stale) }),
    (e) => isCosignError(e, "TSA_IMPRINT_MISMATCH"),
  );
  await assert.rejects(
    requestTimestamp("http://tsa.test/x", SIGNATURE, {
      fetch: () => Promise.reject(new TypeError("refused")),
    }),
    (e) => isCosignError(e, "TSA_REQUEST_FAILED") && /refused/.test(e.message),
  );
});

Deno.test("the embedded TSA states genTime in whole seconds (sigstore-js reads no 1-2 digit fractions)", async () => {
  const tsa = await TimestampAuthority.create({ now: () => new Date("2001-02-03T04:05:06.789Z") });
  const token = await stamp(tsa);
  assert.equal(
    parseSignedTimestamp(token).tstInfo.genTime.toISOString(),
    "2001-02-03T04:05:06.000Z",
  );
});
