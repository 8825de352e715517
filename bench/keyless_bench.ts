/**
 * Keyless verification throughput: a keyless bundle made on the embedded stack (Fulcio
 * certificate with SCT, Rekor entry with SET and inclusion proof) verified whole (chain, SCT,
 * SET, proof, identity, signature), with the certificate-signature cache warm and cold, beside
 * the same count of bare WebCrypto verifies the work needs (P-384 chain links, P-256 SCT, SET
 * and signature).
 *
 *   deno bench -A bench/keyless_bench.ts
 */

import { sha256, utf8 } from "../lib/util/bytes.ts";
import { parseBundle } from "../lib/bundle/model.ts";
import { createProofOfPossession, FulcioClient } from "../lib/keyless/fulcio.ts";
import { generateKeyPair } from "../lib/keys/private_key.ts";
import { logEntryToTlogEntry, RekorClient } from "../lib/tlog/rekor/client.ts";
import { buildBundle, signMessage } from "../lib/sign/signature.ts";
import { serializeBundle } from "../lib/bundle/serialize.ts";
import { clearCertificateSignatureCache } from "../lib/x509/chain.ts";
import { verifyBundle } from "../lib/verify/bundle.ts";
import { bindStack, createStackApp, openStackServices } from "../server/mod.ts";

const services = await openStackServices();
const app = createStackApp(services);
const base = "http://localhost:5999";
const { trustedRoot } = bindStack(services, base);
const fetcher: typeof fetch = async (input, init) => await app.fetch(new Request(input, init));

// One keyless signature over a small artifact, as `sign-blob` makes it.
const artifact = utf8("hello, keyless world\n");
const key = await generateKeyPair();
const token = await services.oidc.mintToken();
const issued = await new FulcioClient({ baseUrl: base, fetch: fetcher }).signingCertificate({
  token,
  publicKey: key.publicKey,
  proofOfPossession: await createProofOfPossession(key, token),
});
const rekor = new RekorClient({ baseUrl: base, fetch: fetcher });
const identity = { signer: key, certificate: issued.leaf.raw };
const witnessed = await signMessage(artifact, identity, {
  log: async (entry) => logEntryToTlogEntry(await rekor.createEntry(entry)),
});
const bundle = parseBundle(serializeBundle(buildBundle(identity, {
  kind: "messageSignature",
  messageDigest: { algorithm: "sha256", digest: sha256(artifact) },
  signature: witnessed.signature,
}, witnessed)));
const policy = {
  trustedRoot,
  identities: [{ subject: "signer@dcosign.test", issuer: base }],
};
const bytesArtifact = { kind: "bytes" as const, bytes: artifact };
await verifyBundle(bundle, bytesArtifact, policy); // must pass before we time it

// Count the WebCrypto verifies one cold verification makes, by curve, so the floor below is
// exactly the same work done bare.
const verifies: Record<string, number> = {};
const realVerify = crypto.subtle.verify.bind(crypto.subtle);
crypto.subtle.verify = ((algorithm, key, signature, data) => {
  const curve = (key.algorithm as EcKeyAlgorithm).namedCurve ?? key.algorithm.name;
  verifies[curve] = (verifies[curve] ?? 0) + 1;
  return realVerify(algorithm, key, signature, data);
}) as typeof crypto.subtle.verify;
clearCertificateSignatureCache();
await verifyBundle(bundle, bytesArtifact, policy);
crypto.subtle.verify = realVerify;
const coldP384 = verifies["P-384"] ?? 0;
const coldP256 = verifies["P-256"] ?? 0;
console.log(`WebCrypto verifies per cold keyless verification: ${JSON.stringify(verifies)}`);

// The floor: the same verifies over a 1 KiB message with keys already imported.
const p384 = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-384" }, false, [
  "sign",
  "verify",
]);
const p256 = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, [
  "sign",
  "verify",
]);
const message = new Uint8Array(1024);
const sig384 = await crypto.subtle.sign(
  { name: "ECDSA", hash: "SHA-384" },
  p384.privateKey,
  message,
);
const sig256 = await crypto.subtle.sign(
  { name: "ECDSA", hash: "SHA-256" },
  p256.privateKey,
  message,
);

const verify384 = () =>
  crypto.subtle.verify({ name: "ECDSA", hash: "SHA-384" }, p384.publicKey, sig384, message);
const verify256 = () =>
  crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, p256.publicKey, sig256, message);
Deno.bench({
  name: "bare WebCrypto: the same P-384 and P-256 verifies, one after another",
  group: "keyless verify",
  baseline: true,
  async fn() {
    for (let i = 0; i < coldP384; i++) await verify384();
    for (let i = 0; i < coldP256; i++) await verify256();
  },
});
Deno.bench({
  name: "bare WebCrypto: the same verifies, all at once (WebCrypto runs on worker threads)",
  group: "keyless verify",
  async fn() {
    await Promise.all([
      ...Array.from({ length: coldP384 }, verify384),
      ...Array.from({ length: coldP256 }, verify256),
    ]);
  },
});
Deno.bench({
  name: "verifyBundle keyless (chain, SCT, SET, proof, identity, signature), caches warm",
  group: "keyless verify",
  async fn() {
    await verifyBundle(bundle, bytesArtifact, policy);
  },
});
Deno.bench({
  name: "verifyBundle keyless, certificate-signature cache cleared each time",
  group: "keyless verify",
  async fn() {
    clearCertificateSignatureCache();
    await verifyBundle(bundle, bytesArtifact, policy);
  },
});

globalThis.addEventListener("unload", () => void services.close());
