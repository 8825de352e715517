import assert from "node:assert/strict";
import { utf8 } from "../../lib/util/bytes.ts";
import { derInteger, derNull, derOctetString, derOid, derSequence } from "../../lib/util/der.ts";
import { isCosignError } from "../../lib/errors.ts";
import { parseSignedTimestamp, verifyTimestamp } from "../../lib/timestamp/token.ts";
import { encodeTimestampRequest, requestTimestamp } from "../../lib/timestamp/client.ts";
import { encodeTrustedRoot, parseTrustedRoot } from "../../lib/trust/trusted_root.ts";
import { parseCertificatesPem } from "../../lib/x509/certificate.ts";
import { TimestampAuthority } from "../../server/tsa/timestamp_authority.ts";
import { tsaRoutes } from "../../server/tsa/routes.ts";

const SIGNATURE = utf8("signature over an artifact");

function serve(tsa: TimestampAuthority) {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    tsaRoutes(tsa).fetch,
  );
  const { port } = server.addr as Deno.NetAddr;
  return { server, base: `http://127.0.0.1:${port}` };
}

Deno.test("the TSA answers RFC 3161 queries over HTTP and its trusted-root entry verifies them", async () => {
  const tsa = await TimestampAuthority.create();
  const { server, base } = serve(tsa);
  await using _ = server;
  const tsr = await requestTimestamp(`${base}/api/v1/timestamp`, SIGNATURE);
  // Through trusted_root.json JSON and back, as `dcosign serve` writes it.
  const root = parseTrustedRoot(encodeTrustedRoot({
    tlogs: [],
    ctlogs: [],
    certificateAuthorities: [],
    timestampAuthorities: [tsa.trustedAuthority()],
  }));
  const verified = await verifyTimestamp(tsr, SIGNATURE, root);
  assert.ok(Math.abs(verified.genTime.getTime() - Date.now()) < 60_000);
  const chain = await fetch(`${base}/api/v1/timestamp/certchain`);
  assert.equal(chain.headers.get("content-type"), "application/pem-certificate-chain");
  const certs = parseCertificatesPem(await chain.text());
  assert.deepEqual(certs.map((c) => c.raw), tsa.chain.map((c) => c.raw));
});

Deno.test("the TSA route refuses wrong content types, oversized and malformed bodies", async () => {
  const tsa = await TimestampAuthority.create();
  const { server, base } = serve(tsa);
  await using _ = server;
  const { request } = encodeTimestampRequest(SIGNATURE);
  const post = async (body: Uint8Array, contentType: string) => {
    const response = await fetch(`${base}/api/v1/timestamp`, {
      method: "POST",
      headers: { "content-type": contentType },
      body: body as Uint8Array<ArrayBuffer>,
    });
    await response.body?.cancel();
    return response.status;
  };
  assert.equal(await post(request, "application/timestamp-query"), 201);
  assert.equal(await post(request, "application/timestamp-query; charset=binary"), 201);
  assert.equal(await post(request, "application/json"), 415);
  assert.equal(await post(request, "application/application/timestamp-query"), 415);
  assert.equal(
    await post(request, `application/timestamp-query;${"application/".repeat(1000)}`),
    415,
  );
  assert.equal(await post(new Uint8Array(70_000), "application/timestamp-query"), 413);
  assert.equal(await post(utf8("not DER"), "application/timestamp-query"), 400);
});

Deno.test("TimestampAuthority.issue() rejects unsupported hashes and foreign policies, echoes nonces", async () => {
  const tsa = await TimestampAuthority.create();
  const sha1Request = derSequence(
    derInteger(1),
    derSequence(
      derSequence(derOid("1.3.14.3.2.26"), derNull()),
      derOctetString(new Uint8Array(20)),
    ),
  );
  await assert.rejects(tsa.issue(sha1Request), (e) => isCosignError(e, "TSA_UNSUPPORTED_HASH"));
  const { request } = encodeTimestampRequest(SIGNATURE, { policy: "1.2.3.4" });
  await assert.rejects(tsa.issue(request), (e) => isCosignError(e, "TSA_UNSUPPORTED_POLICY"));
  const manyArcs =
    encodeTimestampRequest(SIGNATURE, { policy: `1.2.${"3.".repeat(200)}4` }).request;
  await assert.rejects(tsa.issue(manyArcs), (e) => isCosignError(e, "TSA_MALFORMED"));
  // A negative nonce (two's complement) comes back unchanged.
  const negative = derSequence(
    derInteger(1),
    derSequence(
      derSequence(derOid("2.16.840.1.101.3.4.2.1"), derNull()),
      derOctetString(new Uint8Array(32)),
    ),
    Uint8Array.of(0x02, 0x02, 0xff, 0x01),
  );
  const response = await tsa.issue(negative);
  assert.equal(parseSignedTimestamp(response).tstInfo.nonce, -255n);
});

Deno.test("TimestampAuthority survives toJSON()/fromJSON() with the same key and chain", async () => {
  const tsa = await TimestampAuthority.create();
  const restored = await TimestampAuthority.fromJSON(JSON.parse(JSON.stringify(tsa.toJSON())));
  assert.deepEqual(restored.chain.map((c) => c.raw), tsa.chain.map((c) => c.raw));
  const tsr = await restored.issue(encodeTimestampRequest(SIGNATURE).request);
  await verifyTimestamp(tsr, SIGNATURE, { timestampAuthorities: [tsa.trustedAuthority()] });
  await assert.rejects(
    TimestampAuthority.fromJSON({ key: "AAAA", certificates: tsa.toJSON().certificates }),
    (e) => isCosignError(e, "SERVER_TSA_STATE"),
  );
  await assert.rejects(
    TimestampAuthority.fromJSON({}),
    (e) => isCosignError(e, "SERVER_TSA_STATE"),
  );
  const other = await TimestampAuthority.create();
  await assert.rejects(
    TimestampAuthority.fromJSON({
      key: other.toJSON().key,
      certificates: tsa.toJSON().certificates,
    }),
    (e) => isCosignError(e, "SERVER_TSA_STATE"),
  );
});

Deno.test("TimestampAuthority.rotate() signs with a new chain from now on; the old chain stays trusted until the rotation, across a restore", async () => {
  const tsa = await TimestampAuthority.create();
  const before = await tsa.issue(encodeTimestampRequest(SIGNATURE).request);
  const oldLeaf = tsa.chain[0]!.raw;
  await tsa.rotate();
  assert.notDeepEqual(tsa.chain[0]!.raw, oldLeaf);
  const after = await tsa.issue(encodeTimestampRequest(SIGNATURE).request);
  const restored = await TimestampAuthority.fromJSON(JSON.parse(JSON.stringify(tsa.toJSON())));
  for (const authority of [tsa, restored]) {
    const authorities = authority.trustedAuthorities();
    assert.equal(authorities.length, 2);
    assert.deepEqual(authorities[1]!.certificates[0], oldLeaf);
    assert.ok(authorities[1]!.validFor.end !== undefined);
    for (const token of [before, after]) {
      await verifyTimestamp(token, SIGNATURE, { timestampAuthorities: authorities });
    }
    // The current chain alone does not vouch for what the old key signed.
    await assert.rejects(
      verifyTimestamp(before, SIGNATURE, { timestampAuthorities: [authority.trustedAuthority()] }),
      (e) => isCosignError(e, "TSA_UNTRUSTED"),
    );
  }
});
