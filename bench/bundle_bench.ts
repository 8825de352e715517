/**
 * Sigstore bundle verification throughput, dcosign beside sigstore-js (Node 20) on the same
 * bundles: every succeeding sigstore-conformance case and the verifying fixture bundles of
 * sigstore-js, sigstore-go, cosign and sigstore-rs.
 *
 *   deno bench -A bench/bundle_bench.ts
 *
 * At load, each bundle is verified once by dcosign; the ones that verify go to
 * tests/interop/node/bench.mjs, run once as a subprocess, which times sigstore-js on each and on
 * one round over all it verifies. dcosign is timed the same way (same bundles, same loop: parse
 * the bundle JSON and verify, trusted roots parsed once), and a table prints verifications per
 * second for both and the ratio. dcosign caches verified certificate signatures (issuer ->
 * child, lib/x509/chain.ts), which a repeated bundle hits for its leaf too: "warm" is that
 * steady state, "cold" clears the cache before every verification (every chain link checked
 * again, as for a first sight of the bundle; sigstore-js caches nothing). The Deno.bench cases
 * then measure dcosign's side again.
 */

import { parseBundle } from "../lib/bundle/model.ts";
import { PublicKey } from "../lib/keys/public_key.ts";
import { parseTrustedRoot, type TrustedRoot } from "../lib/trust/trusted_root.ts";
import type { Artifact, VerificationPolicy } from "../lib/verify/entity.ts";
import { verifyBundle } from "../lib/verify/bundle.ts";
import { clearCertificateSignatureCache } from "../lib/x509/chain.ts";
import { exists, interopPath, REPO_ROOT } from "../tests/_support.ts";

const DURATION_MS = 250;
const CONFORMANCE = "conformance/test/assets/bundle-verify";
const PRODUCTION_ROOT = "conformance/extra/production-trusted_root.json";
const BEACON =
  "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const ACTIONS = "https://token.actions.githubusercontent.com";
const GITHUB_OAUTH = "https://github.com/login/oauth";

/** One bundle to verify, as paths (the Node script gets the same). */
interface BenchCase {
  readonly name: string;
  readonly bundle: string;
  readonly trustedRoot: string;
  readonly artifact?: string;
  readonly identity?: string;
  readonly issuer?: string;
  readonly publicKey?: string;
}

function readOptional(path: string): string | undefined {
  return exists(path) ? Deno.readTextFileSync(path).trim() : undefined;
}

function conformanceCases(): BenchCase[] {
  const base = interopPath(CONFORMANCE);
  return [...Deno.readDirSync(base)]
    .filter((e) => e.isDirectory && !e.name.endsWith("_fail"))
    .map((e) => e.name).sort()
    .map((name) => {
      const dir = `${base}/${name}`;
      const key = exists(`${dir}/key.pub`) ? `${dir}/key.pub` : undefined;
      return {
        name: `conformance/${name}`,
        bundle: `${dir}/bundle.sigstore.json`,
        trustedRoot: exists(`${dir}/trusted_root.json`)
          ? `${dir}/trusted_root.json`
          : interopPath(PRODUCTION_ROOT),
        artifact: exists(`${dir}/artifact`) ? `${dir}/artifact` : `${base}/a.txt`,
        ...(key ? { publicKey: key } : {
          identity: readOptional(`${dir}/identity`) ?? BEACON,
          issuer: readOptional(`${dir}/issuer`) ?? ACTIONS,
        }),
      };
    });
}

function fixtureCases(): BenchCase[] {
  const js = interopPath("fixtures/sigstore-js/client-valid");
  const go = interopPath("fixtures/sigstore-go");
  const brian = { identity: "brian@dehamer.com", issuer: GITHUB_OAUTH };
  const release = {
    identity:
      "https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main",
    issuer: ACTIONS,
  };
  // Their DSSE bundles sign the text itself (payloadType text/plain): no subject to match.
  const jsCase = (file: string, extra: Partial<BenchCase> = brian): BenchCase => ({
    name: `sigstore-js/${file}`,
    bundle: `${js}/${file}`,
    trustedRoot: `${js}/trusted_root.json`,
    ...(file.includes(".dsse.") ? {} : { artifact: `${js}/artifact.txt` }),
    ...extra,
  });
  return [
    jsCase("v1.messageSignature.withSigningCert.sigstore.json"),
    jsCase("v1.dsse.withSigningCert.sigstore.json"),
    jsCase("v1.dsse.withPublicKey.sigstore.json", { publicKey: `${js}/publickey-key-1.pem` }),
    jsCase("v2.messageSignature.withSigningCert.sigstore.json"),
    jsCase("v3.messageSignature.withSigningCert.sigstore.json"),
    jsCase("v3.dsse.withSigningCert.sigstore.json"),
    {
      name: "sigstore-go/dsse.sigstore.json",
      bundle: `${go}/pkg/testing/data/bundles/dsse.sigstore.json`,
      trustedRoot: `${go}/pkg/testing/data/trusted-roots/public-good.json`,
      ...brian,
    },
    {
      name: "sigstore-go/sigstore.js@2.0.0-provenance.sigstore.json",
      bundle: `${go}/pkg/testing/data/bundles/sigstore.js@2.0.0-provenance.sigstore.json`,
      trustedRoot: `${go}/pkg/testing/data/trusted-roots/public-good.json`,
      ...release,
    },
    {
      name: "sigstore-go/bundle-provenance.json",
      bundle: `${go}/examples/bundle-provenance.json`,
      trustedRoot: `${go}/examples/trusted-root-public-good.json`,
      ...release,
    },
    {
      name: "sigstore-go/bundle-publish.json",
      bundle: `${go}/examples/bundle-publish.json`,
      trustedRoot: interopPath(PRODUCTION_ROOT),
      publicKey: `${go}/examples/publish_key.pub`,
    },
    {
      name: "cosign/oci-attestation.sigstore.json",
      bundle: interopPath("fixtures/cosign/testdata/oci-attestation.sigstore.json"),
      trustedRoot: interopPath(PRODUCTION_ROOT),
      identity: "cody@soyland.com",
      issuer: GITHUB_OAUTH,
    },
    {
      name: "sigstore-rs/bundle_v03.json",
      bundle: interopPath("fixtures/sigstore-rs/bundle_v03.json"),
      trustedRoot: interopPath(PRODUCTION_ROOT),
      identity:
        "https://github.com/kubewarden/kubewarden-controller/.github/workflows/release.yml@refs/tags/v1.34.0",
      issuer: ACTIONS,
    },
  ];
}

/** dcosign's loop body for a case: parse the bundle bytes, verify (roots parsed once). */
type Verify = () => Promise<unknown>;

const roots = new Map<string, TrustedRoot>();
function prepare(c: BenchCase): Verify {
  let root = roots.get(c.trustedRoot);
  if (!root) {
    root = parseTrustedRoot(Deno.readFileSync(c.trustedRoot));
    roots.set(c.trustedRoot, root);
  }
  const policy: VerificationPolicy = c.publicKey
    ? { trustedRoot: root, key: PublicKey.fromPem(Deno.readTextFileSync(c.publicKey)) }
    : { trustedRoot: root, identities: [{ subject: c.identity!, issuer: c.issuer! }] };
  const bytes = Deno.readFileSync(c.bundle);
  // DSSE bundles without an artifact file are checked as sigstore-js checks them: no subject.
  const artifact: Artifact | undefined = c.artifact
    ? { kind: "bytes", bytes: Deno.readFileSync(c.artifact) }
    : undefined;
  return () => verifyBundle(parseBundle(bytes), artifact, policy);
}

async function measure(run: () => Promise<unknown>, minMs: number): Promise<number> {
  let count = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < minMs || count < 10) {
    await run();
    count++;
    elapsed = performance.now() - start;
  }
  return count / (elapsed / 1000);
}

interface NodeReport {
  readonly runtime: string;
  readonly cases: { name: string; ok: boolean; error?: string; perSecond?: number }[];
  readonly round: { bundles: number; perSecond: number };
}

async function runSigstoreJs(cases: BenchCase[]): Promise<NodeReport | string> {
  const oracle = `${REPO_ROOT}tests/interop/node`;
  if (!exists(`${oracle}/node_modules/@sigstore/verify/package.json`)) {
    return "tests/interop/node has no node_modules (run npm ci there)";
  }
  const request = await Deno.makeTempFile({ prefix: "dcosign-bench-", suffix: ".json" });
  try {
    await Deno.writeTextFile(request, JSON.stringify({ durationMs: DURATION_MS, cases }));
    const output = await new Deno.Command("node", {
      args: [`${oracle}/bench.mjs`, request],
      cwd: oracle,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(output.stdout).trim();
    if (!output.success) return `node failed: ${new TextDecoder().decode(output.stderr)}`;
    return JSON.parse(text) as NodeReport;
  } catch (error) {
    return `cannot run node: ${(error as Error).message}`;
  } finally {
    await Deno.remove(request);
  }
}

// 1. What dcosign verifies (every case should).
const all = [...conformanceCases(), ...fixtureCases()];
const ours = new Map<string, Verify>();
for (const c of all) {
  const run = prepare(c);
  try {
    await run();
    ours.set(c.name, run);
  } catch (error) {
    console.log(`dcosign does not verify ${c.name}: ${(error as Error).message}`);
  }
}

// 2. sigstore-js on the same bundles, once, as a subprocess; then dcosign timed the same way.
const report = await runSigstoreJs(all.filter((c) => ours.has(c.name)));
const common = typeof report === "string"
  ? [...ours.keys()]
  : report.cases.filter((c) => c.ok).map((c) => c.name);
if (typeof report === "string") {
  console.log(`sigstore-js side skipped: ${report}`);
} else {
  for (const c of report.cases.filter((c) => !c.ok)) {
    console.log(`sigstore-js ${report.runtime} does not verify ${c.name}: ${c.error}`);
  }
  const rows: string[][] = [[
    "bundle",
    "sigstore-js/s",
    "dcosign warm/s",
    "ratio",
    "dcosign cold/s",
    "ratio",
  ]];
  const row = (name: string, theirs: number, warm: number, cold: number) =>
    rows.push([
      name,
      theirs.toFixed(0),
      warm.toFixed(0),
      (warm / theirs).toFixed(2),
      cold.toFixed(0),
      (cold / theirs).toFixed(2),
    ]);
  for (const c of report.cases.filter((c) => c.ok)) {
    const run = ours.get(c.name)!;
    row(
      c.name,
      c.perSecond!,
      await measure(run, DURATION_MS),
      await measure(() => (clearCertificateSignatureCache(), run()), DURATION_MS),
    );
  }
  const runs = common.map((name) => ours.get(name)!);
  const round = async (cold: boolean) => {
    for (const run of runs) {
      if (cold) clearCertificateSignatureCache();
      await run();
    }
  };
  row(
    `ALL ${common.length} common bundles, round robin`,
    report.round.perSecond,
    runs.length * await measure(() => round(false), DURATION_MS * 4),
    runs.length * await measure(() => round(true), DURATION_MS * 4),
  );
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  console.log(
    `\nBundle verifications per second: sigstore-js (${report.runtime}) vs dcosign (Deno ${Deno.version.deno})\n` +
      rows.map((r) =>
        r.map((cell, i) => i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)).join("  ")
      )
        .join("\n") +
      "\n",
  );
}

// 3. dcosign's side as Deno.bench cases: the whole common set, and one bundle of each shape.
const commonRuns = common.map((name) => ours.get(name)!);
const commonBytes = common.map((name) =>
  Deno.readFileSync(all.find((c) => c.name === name)!.bundle)
);
Deno.bench({
  name: `verifyBundle: one round over the ${common.length} common bundles`,
  group: "round",
  baseline: true,
  async fn() {
    for (const run of commonRuns) await run();
  },
});
Deno.bench({
  name: `verifyBundle, certificate cache cleared before each: the same ${common.length} bundles`,
  group: "round",
  async fn() {
    for (const run of commonRuns) {
      clearCertificateSignatureCache();
      await run();
    }
  },
});
Deno.bench({
  name: `parseBundle only: the same ${common.length} bundles`,
  group: "round",
  fn() {
    for (const bytes of commonBytes) parseBundle(bytes);
  },
});
const SHAPES: readonly [string, string][] = [
  ["conformance/happy-path-v0.3", "v0.3 message, cert, hashedrekord SET + proof"],
  ["conformance/happy-path-intoto-in-dsse-v3", "v0.3 DSSE, cert, dsse entry"],
  ["conformance/rekor2-happy-path", "Rekor v2 proof + RFC 3161 timestamp"],
  ["conformance/managed-key-happy-path", "key-signed, SET + proof + timestamp"],
  ["sigstore-js/v1.messageSignature.withSigningCert.sigstore.json", "v0.1 chain, SET only"],
];
SHAPES.forEach(([name, shape], i) => {
  const run = ours.get(name);
  if (!run) return;
  Deno.bench({
    name: `verifyBundle: ${shape} (${name})`,
    group: "shape",
    baseline: i === 0,
    async fn() {
      await run();
    },
  });
});
