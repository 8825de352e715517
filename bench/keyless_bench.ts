/**
 * Keyless verification throughput: a keyless bundle made on the embedded stack (Fulcio
 * certificate with SCT, Rekor entry with SET and inclusion proof) verified whole (chain, SCT,
 * SET, proof, identity, signature), fresh (certificate-signature cache cleared) and warm, paired
 * round by round with the same count of bare WebCrypto verifies the fresh work needs (P-384
 * chain links, P-256 SCT, SET, checkpoint and signature) with keys imported from SPKI: the
 * crypto floor. Target: a fresh verification within 1.3x of its floor.
 *
 *   deno run -A bench/keyless_bench.ts     (or deno bench -A bench/keyless_bench.ts)
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
import { pairedRuns, type PairedSamples, printResult, timeRatioRow } from "./_paired.ts";

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

// The floor: the same verifies over a 1 KiB message, one after another, with keys imported from
// SPKI once (as dcosign's PublicKey does; keys from `generateKey` verify ~2x slower in Deno 2.9,
// which made an earlier floor too generous).
async function importedPair(curve: "P-256" | "P-384") {
  const generated = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: curve }, true, [
    "sign",
    "verify",
  ]);
  const spki = await crypto.subtle.exportKey("spki", generated.publicKey);
  const pkcs8 = await crypto.subtle.exportKey("pkcs8", generated.privateKey);
  const algorithm = { name: "ECDSA", namedCurve: curve };
  return {
    publicKey: await crypto.subtle.importKey("spki", spki, algorithm, false, ["verify"]),
    privateKey: await crypto.subtle.importKey("pkcs8", pkcs8, algorithm, false, ["sign"]),
  };
}
const p384 = await importedPair("P-384");
const p256 = await importedPair("P-256");
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
const floor = async () => {
  for (let i = 0; i < coldP384; i++) await verify384();
  for (let i = 0; i < coldP256; i++) await verify256();
};

// Each timed call repeats the work BATCH times, so timer resolution does not matter.
const BATCH = 20;
const ROUNDS = Number(Deno.env.get("BENCH_ROUNDS") ?? 15);
const repeat = (fn: () => Promise<unknown>) => async () => {
  for (let i = 0; i < BATCH; i++) await fn();
};
const fresh = await pairedRuns(
  repeat(floor),
  repeat(async () => {
    clearCertificateSignatureCache();
    await verifyBundle(bundle, bytesArtifact, policy);
  }),
  { rounds: ROUNDS, warmup: 3 },
);
const warm = await pairedRuns(
  repeat(floor),
  repeat(() => verifyBundle(bundle, bytesArtifact, policy)),
  { rounds: ROUNDS, warmup: 3 },
);
const perVerify = (samples: PairedSamples): PairedSamples => ({
  anchor: samples.anchor.map((ms) => ms / BATCH),
  dcosign: samples.dcosign.map((ms) => ms / BATCH),
});
printResult(
  timeRatioRow(
    "fresh keyless verify (chain, SCT, SET, proof, identity, signature), single thread",
    "bare WebCrypto verifies, imported keys",
    perVerify(fresh),
    1.3,
  ),
);
printResult({
  ...timeRatioRow(
    "keyless verify, certificate-signature cache warm",
    "bare WebCrypto verifies (cold count), imported keys",
    perVerify(warm),
    1.3,
  ),
  target: "(none: fewer verifies than the anchor)",
  met: true,
});

await services.close();
