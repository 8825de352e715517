/**
 * Signing-config service selection (cosign-spec.md section 8.3, sigstore-go `SelectServices`):
 * validity windows, the highest supported `majorApiVersion` with no mixing of versions, newest
 * first, one service per operator, the ANY/ALL/EXACT selectors, and one-line refusals; on the
 * public-good signing configs of the TUF corpus at a time they are valid.
 */

import assert from "node:assert/strict";
import { isCosignError } from "../../../lib/errors.ts";
import {
  encodeSigningConfig,
  parseSigningConfig,
  selectSigningService,
  type ServiceEndpoint,
  type SigningConfig,
  SUPPORTED_API_VERSIONS,
} from "../../../lib/trust/signing_config.ts";
import { exists, interopPath, requireComponents } from "../../_support.ts";

const NOW = new Date("2026-08-25T00:00:00Z");
const service = (
  url: string,
  majorApiVersion: number,
  start: string,
  operator: string,
  end?: string,
): ServiceEndpoint => ({
  url,
  majorApiVersion,
  validFor: { start: new Date(start), ...(end ? { end: new Date(end) } : {}) },
  operator,
});

function config(partial: Partial<SigningConfig>): SigningConfig {
  return {
    caUrls: [],
    oidcUrls: [],
    rekorTlogUrls: [],
    tsaUrls: [],
    rekorTlogConfig: { selector: "ANY" },
    tsaConfig: { selector: "ANY" },
    ...partial,
  };
}

const urls = (selected: { url: string }[]) => selected.map((s) => s.url);

Deno.test("selectSigningService() keeps services valid now (closed windows), newest start first", () => {
  const logs = [
    service("https://expired", 1, "2020-01-01T00:00:00Z", "a", "2026-08-24T23:59:59Z"),
    service("https://future", 1, "2026-08-25T00:00:01Z", "b"),
    service("https://old", 1, "2021-01-01T00:00:00Z", "c"),
    service("https://ends-now", 1, "2025-01-01T00:00:00Z", "d", "2026-08-25T00:00:00Z"),
  ];
  const all = config({ rekorTlogUrls: logs, rekorTlogConfig: { selector: "ALL" } });
  assert.deepEqual(urls(selectSigningService(all, "rekor", { now: NOW })), [
    "https://ends-now",
    "https://old",
  ]);
  const any = config({ rekorTlogUrls: logs });
  assert.deepEqual(urls(selectSigningService(any, "rekor", { now: NOW })), ["https://ends-now"]);
});

Deno.test("selectSigningService() uses only the highest supported majorApiVersion, never mixing versions", () => {
  const logs = [
    service("https://v1-new", 1, "2026-06-01T00:00:00Z", "one"),
    service("https://v2-a", 2, "2026-01-01T00:00:00Z", "two"),
    service("https://v2-b", 2, "2025-01-01T00:00:00Z", "three"),
    service("https://v3", 3, "2026-01-01T00:00:00Z", "four"),
  ];
  const all = config({ rekorTlogUrls: logs, rekorTlogConfig: { selector: "ALL" } });
  const pick = (supportedVersions: number[]) =>
    selectSigningService(all, "rekor", { now: NOW, supportedVersions }).map((s) => [
      s.url,
      s.majorApiVersion,
    ]);
  assert.deepEqual(pick([1, 2]), [["https://v2-a", 2], ["https://v2-b", 2]]);
  assert.deepEqual(pick([1]), [["https://v1-new", 1]]);
  // The build's own versions: Rekor v1 and v2 (lib/tlog/rekor_v2/), so v2 wins.
  assert.deepEqual(SUPPORTED_API_VERSIONS.rekor, [1, 2]);
  assert.deepEqual(urls(selectSigningService(all, "rekor", { now: NOW })), [
    "https://v2-a",
    "https://v2-b",
  ]);
});

Deno.test("selectSigningService() picks one service per operator (the newest) and honours EXACT", () => {
  const tsas = [
    service("https://a-old", 1, "2024-01-01T00:00:00Z", "a"),
    service("https://a-new", 1, "2025-01-01T00:00:00Z", "a"),
    service("https://b", 1, "2023-01-01T00:00:00Z", "b"),
    service("https://c", 1, "2022-01-01T00:00:00Z", "c"),
  ];
  const exact = (count: number) =>
    config({ tsaUrls: tsas, tsaConfig: { selector: "EXACT", count } });
  assert.deepEqual(urls(selectSigningService(exact(2), "tsa", { now: NOW })), [
    "https://a-new",
    "https://b",
  ]);
  assert.deepEqual(
    urls(selectSigningService(config({ tsaUrls: tsas, tsaConfig: { selector: "ALL" } }), "tsa", {
      now: NOW,
    })),
    ["https://a-new", "https://b", "https://c"],
  );
  assert.throws(
    () => selectSigningService(exact(4), "tsa", { now: NOW }),
    (e) =>
      isCosignError(e, "TRUST_NO_SERVICE") &&
      /asks for exactly 4 timestamp authorities of distinct operators, but only 3/.test(e.message),
  );
  // Fulcio and OIDC providers are always one (ANY), whatever the lists hold.
  const cas = config({ caUrls: tsas });
  assert.deepEqual(urls(selectSigningService(cas, "fulcio", { now: NOW })), ["https://a-new"]);
});

Deno.test("selectSigningService() is empty for an absent kind and refuses unusable ones in one line", () => {
  assert.deepEqual(selectSigningService(config({}), "tsa", { now: NOW }), []);
  const expired = config({
    caUrls: [service("https://fulcio", 1, "2020-01-01T00:00:00Z", "x", "2021-01-01T00:00:00Z")],
  });
  assert.throws(
    () => selectSigningService(expired, "fulcio", { now: NOW }),
    (e) =>
      isCosignError(e, "TRUST_NO_SERVICE") &&
      e.message === 'The signing config lists no Fulcio valid at "2026-08-25T00:00:00.000Z"',
  );
  const v3only = config({
    rekorTlogUrls: [service("https://rekor-v3.example", 3, "2026-01-01T00:00:00Z", "s")],
  });
  assert.throws(
    () => selectSigningService(v3only, "rekor", { now: NOW }),
    (e) =>
      isCosignError(e, "TRUST_NO_SERVICE") && !e.message.includes("\n") &&
      /Rekor logs valid at .* speak API version 3 \("https:\/\/rekor-v3\.example"\); dcosign speaks 1, 2/
        .test(e.message),
  );
});

Deno.test("a signing config round-trips through encodeSigningConfig() and parseSigningConfig()", () => {
  const original = config({
    caUrls: [service("https://fulcio", 1, "2024-01-01T00:00:00.000Z", "op")],
    rekorTlogUrls: [service("https://rekor", 1, "2024-01-01T00:00:00.000Z", "op")],
    rekorTlogConfig: { selector: "EXACT", count: 1 },
    tsaConfig: { selector: "ALL" },
  });
  assert.deepEqual(parseSigningConfig(encodeSigningConfig(original)), original);
});

const CORPUS = "tuf/sigstore-public-good/targets";
if (
  requireComponents("public-good signing configs", {
    name: "TUF corpus (../shared/interop/tuf)",
    present: () => exists(interopPath(CORPUS)),
  })
) {
  const read = (suffix: string) => {
    const name = [...Deno.readDirSync(interopPath(CORPUS))].find((e) => e.name.endsWith(suffix));
    return parseSigningConfig(Deno.readFileSync(`${interopPath(CORPUS)}/${name!.name}`));
  };

  Deno.test("the public-good signing_config.v0.2.json selects Fulcio, the OIDC issuer, Rekor v1 and the TSA", () => {
    const production = read(".signing_config.v0.2.json");
    const one = (kind: "fulcio" | "oidc" | "rekor" | "tsa") =>
      selectSigningService(production, kind, { now: NOW }).map((s) => [s.url, s.majorApiVersion]);
    assert.deepEqual(one("fulcio"), [["https://fulcio.sigstore.dev", 1]]);
    assert.deepEqual(one("oidc"), [["https://oauth2.sigstore.dev/auth", 1]]);
    assert.deepEqual(one("rekor"), [["https://rekor.sigstore.dev", 1]]);
    assert.deepEqual(one("tsa"), [["https://timestamp.sigstore.dev/api/v1/timestamp", 1]]);
  });

  Deno.test("the public-good signing_config_rekor_v2.v0.2.json selects the v2 log where v2 is spoken, else v1", () => {
    const rekorV2 = read(".signing_config_rekor_v2.v0.2.json");
    const pick = (supportedVersions: number[], now = NOW) =>
      selectSigningService(rekorV2, "rekor", { now, supportedVersions })
        .map((s) => [s.url, s.majorApiVersion]);
    assert.deepEqual(pick([1, 2]), [["https://log2025-1.rekor.sigstore.dev", 2]]);
    assert.deepEqual(pick([1]), [["https://rekor.sigstore.dev", 1]]);
    // Before the v2 log's start (2026-01-01) even a v2 client uses v1.
    assert.deepEqual(pick([1, 2], new Date("2025-12-31T00:00:00Z")), [[
      "https://rekor.sigstore.dev",
      1,
    ]]);
  });
}
