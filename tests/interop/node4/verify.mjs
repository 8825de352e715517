// The sigstore-js 4.x oracle: verify one bundle offline with @sigstore/verify 4.1.3, which reads
// Rekor v2 entries (hashedrekord 0.0.2, C2SP checkpoints), under Node 20.
// Usage: node verify.mjs REQUEST.json   (prints "OK" or "FAIL: <reason>", exits 0 or 1)
// REQUEST: { bundle, trustedRoot, artifact (path, optional), identity?, issuer?,
//            publicKey? (PEM path), tlogThreshold?, timestampThreshold? }
import { readFileSync } from "node:fs";
import { createPublicKey } from "node:crypto";
import { bundleFromJSON } from "@sigstore/bundle";
import { TrustedRoot } from "@sigstore/protobuf-specs";
import { toSignedEntity, toTrustMaterial, Verifier } from "@sigstore/verify";

const request = JSON.parse(readFileSync(process.argv[2], "utf8"));
try {
  const bundle = bundleFromJSON(JSON.parse(readFileSync(request.bundle, "utf8")));
  const root = TrustedRoot.fromJSON(JSON.parse(readFileSync(request.trustedRoot, "utf8")));
  const keys = request.publicKey
    ? () => ({
      publicKey: createPublicKey(readFileSync(request.publicKey, "utf8")),
      validFor: () => true,
    })
    : undefined;
  const material = toTrustMaterial(root, keys);
  const artifact = request.artifact ? readFileSync(request.artifact) : undefined;
  const entity = toSignedEntity(bundle, artifact);
  const verifier = new Verifier(material, {
    tlogThreshold: request.tlogThreshold ?? 1,
    timestampThreshold: request.timestampThreshold ?? 1,
  });
  const policy = request.identity
    ? { subjectAlternativeName: request.identity, extensions: { issuer: request.issuer } }
    : undefined;
  verifier.verify(entity, policy);
  console.log("OK");
} catch (error) {
  console.log(`FAIL: ${error?.code ?? ""} ${error?.message ?? error}`);
  process.exit(1);
}
