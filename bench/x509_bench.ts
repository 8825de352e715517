/**
 * Fulcio chain + SCT verification throughput, with and without the issuer -> child signature
 * cache, beside the bare WebCrypto verifies it is made of (a real production leaf from the
 * sigstore-conformance corpus, P-384 intermediate and root). Run: `deno bench -A bench/x509_bench.ts`.
 */
import { fromBase64 } from "../lib/util/bytes.ts";
import { verifyEmbeddedScts } from "../lib/x509/sct.ts";
import { verifySignature } from "../lib/keys/public_key.ts";
import { parseTrustedRoot } from "../lib/trust/trusted_root.ts";
import { parseCertificate } from "../lib/x509/certificate.ts";
import { verifyFulcioChain } from "../lib/x509/chain.ts";

const interop = new URL(
  `file://${
    (Deno.env.get("DCOSIGN_INTEROP") ?? new URL("../../shared/interop", import.meta.url).pathname)
      .replace(/\/?$/, "/")
  }`,
);
const root = parseTrustedRoot(
  Deno.readTextFileSync(new URL("conformance/extra/production-trusted_root.json", interop)),
);
const bundle = JSON.parse(
  Deno.readTextFileSync(
    new URL("conformance/test/assets/bundle-verify/happy-path-v0.3/bundle.sigstore.json", interop),
  ),
);
const leafDer = fromBase64(bundle.verificationMaterial.certificate.rawBytes);
const time = new Date(Number(bundle.verificationMaterial.tlogEntries[0].integratedTime) * 1000);
const leaf = parseCertificate(leafDer);
const { chain } = await verifyFulcioChain(leaf, root, [time]);
const [, intermediate, anchor] = chain;

Deno.bench("WebCrypto verifies alone (leaf + intermediate signatures)", {
  group: "chain",
  baseline: true,
}, async () => {
  await verifySignature(intermediate!.publicKey, leaf.tbs, leaf.signature, { hash: "sha384" });
  await verifySignature(anchor!.publicKey, intermediate!.tbs, intermediate!.signature, {
    hash: "sha384",
  });
});

Deno.bench("verifyFulcioChain, no cache", { group: "chain" }, async () => {
  await verifyFulcioChain(leaf, root, [time], { cache: false });
});

Deno.bench("verifyFulcioChain, cached signatures", { group: "chain" }, async () => {
  await verifyFulcioChain(leaf, root, [time]);
});

Deno.bench("parse + chain + SCT, no cache", { group: "chain+sct", baseline: true }, async () => {
  const cert = parseCertificate(leafDer);
  const verified = await verifyFulcioChain(cert, root, [time], { cache: false });
  await verifyEmbeddedScts(cert, verified.chain[1]!, root.ctlogs);
});

Deno.bench("parse + chain + SCT, cached signatures", { group: "chain+sct" }, async () => {
  const cert = parseCertificate(leafDer);
  const verified = await verifyFulcioChain(cert, root, [time]);
  await verifyEmbeddedScts(cert, verified.chain[1]!, root.ctlogs);
});

Deno.bench("parseCertificate (Fulcio leaf)", { group: "parse" }, () => {
  parseCertificate(leafDer);
});
