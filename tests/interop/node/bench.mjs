// sigstore-js bundle verification throughput under Node 20, for bench/bundle_bench.ts.
// Usage: node bench.mjs REQUEST.json
// REQUEST: { durationMs, cases: [{ name, bundle, trustedRoot, artifact?, identity?, issuer?,
//            publicKey? }] }  (paths; publicKey is a PEM file for key-signed bundles)
// Prints one JSON line: { runtime, cases: [{ name, ok, error?, perSecond? }],
//                         round: { bundles, verifications, seconds, perSecond } }
// Each iteration does what a verifier does per bundle: JSON.parse + bundleFromJSON +
// toSignedEntity + Verifier.verify; trusted roots are parsed once, as on the Deno side.
import { readFileSync } from "node:fs";
import { createPublicKey } from "node:crypto";
import { bundleFromJSON } from "@sigstore/bundle";
import { TrustedRoot } from "@sigstore/protobuf-specs";
import { toSignedEntity, toTrustMaterial, Verifier } from "@sigstore/verify";

const request = JSON.parse(readFileSync(process.argv[2], "utf8"));
const durationMs = request.durationMs ?? 250;

function prepare(c) {
  const root = TrustedRoot.fromJSON(JSON.parse(readFileSync(c.trustedRoot, "utf8")));
  const keys = c.publicKey
    ? () => ({
      publicKey: createPublicKey(readFileSync(c.publicKey, "utf8")),
      validFor: () => true,
    })
    : undefined;
  const verifier = new Verifier(toTrustMaterial(root, keys), { tlogThreshold: 1 });
  const text = readFileSync(c.bundle, "utf8");
  const artifact = c.artifact ? readFileSync(c.artifact) : undefined;
  const policy = c.identity
    ? { subjectAlternativeName: c.identity, extensions: { issuer: c.issuer } }
    : undefined;
  return () => {
    const bundle = bundleFromJSON(JSON.parse(text));
    verifier.verify(toSignedEntity(bundle, artifact), policy);
  };
}

/** Verifications per second of `run`, timed for at least durationMs and 10 iterations. */
function measure(run, minMs) {
  let count = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < minMs || count < 10) {
    run();
    count++;
    elapsed = Number(process.hrtime.bigint() - start) / 1e6;
  }
  return { count, seconds: elapsed / 1000, perSecond: count / (elapsed / 1000) };
}

const results = [];
const verifiers = [];
for (const c of request.cases) {
  try {
    const run = prepare(c);
    run(); // warm-up, and the check that it verifies at all
    verifiers.push(run);
    results.push({ name: c.name, ok: true, perSecond: measure(run, durationMs).perSecond });
  } catch (error) {
    results.push({ name: c.name, ok: false, error: `${error?.code ?? ""} ${error?.message ?? error}` });
  }
}
const round = verifiers.length === 0
  ? { bundles: 0, verifications: 0, seconds: 0, perSecond: 0 }
  : (() => {
    const m = measure(() => {
      for (const run of verifiers) run();
    }, durationMs * 4);
    return {
      bundles: verifiers.length,
      verifications: m.count * verifiers.length,
      seconds: m.seconds,
      perSecond: (m.count * verifiers.length) / m.seconds,
    };
  })();
console.log(JSON.stringify({ runtime: `node ${process.version}`, cases: results, round }));
