import assert from "node:assert/strict";
import { fc } from "../../_deps.ts";
import { fromUtf8, utf8 } from "../../../lib/util/bytes.ts";
import { encodeGoJson, GoStruct, toGoValue } from "../../../lib/util/go_json.ts";
import { parseEnvelope } from "../../../lib/payload/dsse.ts";
import { isCosignError } from "../../../lib/errors.ts";
import {
  buildCosignSignStatement,
  buildStatement,
  COSIGN_SIGN_PREDICATE_TYPE,
  findSubject,
  IN_TOTO_STATEMENT_V01,
  IN_TOTO_STATEMENT_V1,
  MAX_SUBJECT_DIGESTS,
  MAX_SUBJECTS,
  parseStatement,
} from "../../../lib/payload/statement.ts";
import {
  buildPredicate,
  CUSTOM_PREDICATE_TYPE,
  predicateTypeFor,
} from "../../../lib/payload/predicate.ts";
import {
  decodeSimpleSigningPayload,
  encodeSimpleSigningPayload,
} from "../../../lib/payload/simple_signing.ts";
import { INTEROP, readInteropBytes, readInteropText, requireComponents } from "../../_support.ts";

const DIGEST = `sha256:${"ab".repeat(32)}`;

// --- Go encoding/json emulation -----------------------------------------------------------------

Deno.test("encodeGoJson() escapes <, >, &, U+2028 and U+2029 like Go json.Marshal, not in protojson style", () => {
  const value = { a: "<b>&\u2028\u2029\u00e9\n\u0001\b\f" };
  assert.equal(
    encodeGoJson(value),
    '{"a":"\\u003cb\\u003e\\u0026\\u2028\\u2029\u00e9\\n\\u0001\\b\\f"}',
  );
  assert.equal(
    encodeGoJson(value, { style: "protojson" }),
    '{"a":"<b>&\u2028\u2029\u00e9\\n\\u0001\\b\\f"}',
  );
});

Deno.test("encodeGoJson() sorts map keys by UTF-8 bytes and keeps struct field order", () => {
  // UTF-16 order would put U+1F600 (a surrogate pair, 0xD83D...) before U+FF61
  const map = { "\u{1F600}": 1, "\uFF61": 2, b: 3, a: 4, B: 5 };
  assert.equal(encodeGoJson(map), '{"B":5,"a":4,"b":3,"\uFF61":2,"\u{1F600}":1}');
  const struct = new GoStruct([["z", 1], ["skipped", undefined], ["a", null]]);
  assert.equal(encodeGoJson(struct), '{"z":1,"a":null}');
});

Deno.test("encodeGoJson() formats numbers as Go float64 and writes lone surrogates as \\ufffd", () => {
  assert.equal(
    encodeGoJson([1, 1.5, 1e21, 1e20, 1e-7, 0.000001, -0, 2 ** 53, 123456789012345680000]),
    "[1,1.5,1e+21,100000000000000000000,1e-7,0.000001,-0,9007199254740992,123456789012345680000]",
  );
  assert.equal(encodeGoJson(18446744073709551615n), "18446744073709551615");
  assert.equal(encodeGoJson("a\ud800b\\ud800"), '"a\\ufffdb\\\\ud800"');
  assert.throws(() => encodeGoJson(Number.NaN), TypeError);
});

// --- SimpleSigning -------------------------------------------------------------------------------

Deno.test("encodeSimpleSigningPayload() writes cosign's compact, sorted, HTML-escaped bytes", () => {
  const bytes = encodeSimpleSigningPayload({
    dockerReference: "index.docker.io/library/ubuntu",
    digest: DIGEST,
    annotations: { z: "1", a: "<&>" },
  });
  assert.equal(
    fromUtf8(bytes),
    '{"critical":{"identity":{"docker-reference":"index.docker.io/library/ubuntu"},' +
      `"image":{"docker-manifest-digest":"${DIGEST}"},"type":"cosign container image signature"},` +
      '"optional":{"a":"\\u003c\\u0026\\u003e","z":"1"}}',
  );
  const plain = fromUtf8(
    encodeSimpleSigningPayload({ dockerReference: "r", digest: DIGEST, annotations: {} }),
  );
  assert.ok(plain.endsWith(',"optional":null}'));
});

Deno.test("encodeSimpleSigningPayload() refuses a malformed digest with RangeError", () => {
  for (
    const digest of ["", "sha256:", "sha256:ABAB", `sha256:${"ab".repeat(31)}`, "ab".repeat(32)]
  ) {
    assert.throws(() => encodeSimpleSigningPayload({ dockerReference: "r", digest }), RangeError);
  }
});

Deno.test("decodeSimpleSigningPayload() refuses payloads without a usable manifest digest", () => {
  const cases = [
    "{",
    "[]",
    '{"critical":null}',
    '{"critical":{"image":{}}}',
    '{"critical":{"image":{"docker-manifest-digest":""}}}',
    '{"critical":{"image":{"docker-manifest-digest":7}}}',
    '{"critical":{"image":{"docker-manifest-digest":"not a digest"}}}',
    `{"critical":{"identity":{"docker-reference":1},"image":{"docker-manifest-digest":"${DIGEST}"}}}`,
    `{"critical":{"image":{"docker-manifest-digest":"${DIGEST}"}},"optional":[1]}`,
    // Go would read the second spelling (case-blind, last wins): a different digest than ours
    `{"critical":{"image":{"docker-manifest-digest":"${DIGEST}"}},"Critical":{"image":{}}}`,
    `{"critical":{"image":{"docker-manifest-digest":"${DIGEST}","Docker-Manifest-Digest":"x"}}}`,
    `{"critical":{"image":{"docker-manifest-digest":"${DIGEST}"},"TYPE":"x"}}`,
  ];
  for (const text of cases) {
    assert.throws(
      () => decodeSimpleSigningPayload(utf8(text)),
      (e) => isCosignError(e, "PAYLOAD_MALFORMED"),
      text,
    );
  }
  assert.throws(
    () => decodeSimpleSigningPayload(new Uint8Array(2 << 20)),
    (e) => isCosignError(e, "PAYLOAD_TOO_LARGE"),
  );
  assert.throws(
    () => decodeSimpleSigningPayload(new Uint8Array([0xff, 0xfe])),
    (e) => isCosignError(e, "PAYLOAD_MALFORMED"),
  );
});

Deno.test("decodeSimpleSigningPayload() reads what encodeSimpleSigningPayload() writes (property)", () => {
  const hex = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => b.toHex());
  const text = fc.string({ unit: "binary" }).map((s) => s.toWellFormed());
  const input = fc.record({
    dockerReference: text,
    digest: hex.map((h) => `sha256:${h}`),
    annotations: fc.dictionary(text, text, { minKeys: 1, maxKeys: 5 }),
  }, { requiredKeys: ["dockerReference", "digest"] });
  fc.assert(fc.property(input, (value) => {
    const bytes = encodeSimpleSigningPayload(value);
    const decoded = decodeSimpleSigningPayload(bytes);
    assert.equal(decoded.dockerReference, value.dockerReference);
    assert.equal(decoded.digest, value.digest);
    assert.equal(decoded.type, "cosign container image signature");
    assert.deepEqual(decoded.optional, value.annotations ? { ...value.annotations } : null);
  }));
});

// --- in-toto statements -------------------------------------------------------------------------

Deno.test("buildStatement() writes v0.1 in Go struct order and v1 in protobuf order", () => {
  const subjects = [{ name: "ghcr.io/o/r", digest: { sha256: "ab".repeat(32) } }];
  assert.equal(
    fromUtf8(
      buildStatement({
        version: "v0.1",
        subjects,
        predicateType: "https://x/<p>",
        predicate: { b: 1, a: [true] },
      }),
    ),
    `{"_type":"${IN_TOTO_STATEMENT_V01}","predicateType":"https://x/\\u003cp\\u003e","subject":[{"name":"ghcr.io/o/r","digest":{"sha256":"${
      "ab".repeat(32)
    }"}}],"predicate":{"a":[true],"b":1}}`,
  );
  assert.equal(
    fromUtf8(
      buildStatement({
        version: "v1",
        subjects,
        predicateType: "https://x/<p>",
        predicate: { b: 1, a: [true] },
      }),
    ),
    `{"_type":"${IN_TOTO_STATEMENT_V1}","subject":[{"name":"ghcr.io/o/r","digest":{"sha256":"${
      "ab".repeat(32)
    }"}}],"predicateType":"https://x/<p>","predicate":{"a":[true],"b":1}}`,
  );
  assert.throws(
    () => buildStatement({ version: "v1", subjects, predicateType: "p", predicate: "text" }),
    TypeError,
  );
  assert.throws(
    () => buildStatement({ version: "v1", subjects: [], predicateType: "p" }),
    RangeError,
  );
});

Deno.test("buildCosignSignStatement() writes the v3 image-sign statement with annotations", () => {
  assert.equal(
    fromUtf8(buildCosignSignStatement({ digest: DIGEST, annotations: { team: "a", env: "b" } })),
    `{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"sha256":"${
      "ab".repeat(32)
    }"},"annotations":{"env":"b","team":"a"}}],"predicateType":"${COSIGN_SIGN_PREDICATE_TYPE}"}`,
  );
});

Deno.test("parseStatement() reads what buildStatement() writes (property)", () => {
  const digests = fc.dictionary(
    fc.constantFrom("sha256", "sha512", "gitCommit"),
    fc.uint8Array({ minLength: 20, maxLength: 64 }).map((b) => b.toHex()),
    { minKeys: 1 },
  );
  const json = fc.jsonValue().map((v) => JSON.parse(JSON.stringify(v)));
  const subject = fc.record({
    name: fc.string({ minLength: 1 }).map((s) => s.toWellFormed()),
    digest: digests,
  });
  fc.assert(fc.property(
    fc.array(subject, { minLength: 1, maxLength: 4 }),
    fc.webUrl(),
    fc.dictionary(fc.string(), json),
    fc.constantFrom("v0.1", "v1" as const),
    (subjects, predicateType, predicate, version) => {
      const statement = parseStatement(
        buildStatement({ subjects, predicateType, predicate, version: version as "v0.1" | "v1" }),
      );
      assert.equal(statement.type, version === "v1" ? IN_TOTO_STATEMENT_V1 : IN_TOTO_STATEMENT_V01);
      assert.equal(statement.predicateType, predicateType);
      assert.deepEqual(statement.subject, JSON.parse(JSON.stringify(subjects)));
      assert.deepEqual(statement.predicate, JSON.parse(JSON.stringify(predicate)));
    },
  ));
});

Deno.test("parseStatement() refuses malformed statements, a null subject included", () => {
  const ok = {
    _type: IN_TOTO_STATEMENT_V1,
    subject: [{ digest: { sha256: "ab" } }],
    predicateType: "p",
  };
  const cases: unknown[] = [
    { ...ok, subject: [null] },
    { ...ok, subject: null },
    { ...ok, subject: [{ digest: { sha256: 1 } }] },
    { ...ok, subject: [{ name: "n" }] },
    { ...ok, subject: [{ digest: {}, name: 3 }] },
    { ...ok, predicateType: "" },
    { ...ok, _type: "https://in-toto.io/Statement/v2" },
    { ...ok, _type: undefined },
    { ...ok, predicate_type: "other" },
    { ...ok, PredicateType: "other" },
    { ...ok, type: IN_TOTO_STATEMENT_V01 },
    { ...ok, "\u017Fubject": [] }, // U+017F folds to "s" in Go's case-blind match
    { ...ok, subject: [{ digest: { sha256: "ab" }, Digest: { sha256: "cd" } }] },
    [],
  ];
  for (const value of cases) {
    assert.throws(
      () => parseStatement(utf8(JSON.stringify(value))),
      (e) => isCosignError(e, "PAYLOAD_MALFORMED"),
      JSON.stringify(value),
    );
  }
  assert.throws(
    () => parseStatement(utf8('{"_type":')),
    (e) => isCosignError(e, "PAYLOAD_MALFORMED"),
  );
});

Deno.test("parseStatement() refuses 10^6 subjects and too many digests with PAYLOAD_TOO_LARGE", () => {
  const many = `{"_type":"${IN_TOTO_STATEMENT_V1}","predicateType":"p","subject":[${
    "{},".repeat(1_000_000)
  }{}]}`;
  assert.throws(
    () => parseStatement(utf8(many)),
    (e) => isCosignError(e, "PAYLOAD_TOO_LARGE") && /1000001 subjects/.test(e.message),
  );
  const atLimit = {
    _type: IN_TOTO_STATEMENT_V1,
    predicateType: "p",
    subject: Array.from({ length: MAX_SUBJECTS }, () => ({ digest: { sha256: "ab" } })),
  };
  assert.equal(parseStatement(utf8(JSON.stringify(atLimit))).subject.length, MAX_SUBJECTS);
  const digest = Object.fromEntries(
    Array.from({ length: MAX_SUBJECT_DIGESTS + 1 }, (_, i) => [`alg${i}`, "ab"]),
  );
  assert.throws(
    () => parseStatement(utf8(JSON.stringify({ ...atLimit, subject: [{ digest }] }))),
    (e) => isCosignError(e, "PAYLOAD_TOO_LARGE") && /33 digests/.test(e.message),
  );
  assert.throws(
    () => parseStatement(utf8("{}"), { maxBytes: 1 }),
    (e) => isCosignError(e, "PAYLOAD_TOO_LARGE"),
  );
});

Deno.test("findSubject() !== undefined needs a subject with that algorithm and digest, never vacuously", () => {
  const hex = "ab".repeat(32);
  const statement = parseStatement(utf8(JSON.stringify({
    _type: IN_TOTO_STATEMENT_V01,
    predicateType: "p",
    subject: [{ name: "a", digest: { sha512: hex + hex } }, {
      name: "b",
      digest: { sha256: hex.toUpperCase() },
    }],
  })));
  assert.equal(findSubject(statement, "sha256", hex) !== undefined, true);
  assert.equal(findSubject(statement, "sha256", "cd".repeat(32)) !== undefined, false);
  assert.equal(findSubject(statement, "sha512", hex + hex) !== undefined, true);
  assert.equal(findSubject(statement, "sha384", "ab".repeat(48)) !== undefined, false);
  assert.equal(findSubject({ ...statement, subject: [] }, "sha256", hex) !== undefined, false);
  assert.throws(() => findSubject(statement, "sha256", "abc"), RangeError);
});

// --- predicates ----------------------------------------------------------------------------------

Deno.test("predicateTypeFor() maps cosign's short names, passes URIs and refuses the rest", () => {
  assert.equal(predicateTypeFor("custom"), CUSTOM_PREDICATE_TYPE);
  assert.equal(predicateTypeFor("slsaprovenance"), "https://slsa.dev/provenance/v0.2");
  assert.equal(predicateTypeFor("slsaprovenance02"), "https://slsa.dev/provenance/v0.2");
  assert.equal(predicateTypeFor("slsaprovenance1"), "https://slsa.dev/provenance/v1");
  assert.equal(predicateTypeFor("link"), "https://in-toto.io/Link/v1");
  assert.equal(predicateTypeFor("spdx"), "https://spdx.dev/Document");
  assert.equal(predicateTypeFor("spdxjson"), "https://spdx.dev/Document");
  assert.equal(predicateTypeFor("cyclonedx"), "https://cyclonedx.org/bom");
  assert.equal(predicateTypeFor("vuln"), "https://cosign.sigstore.dev/attestation/vuln/v1");
  assert.equal(predicateTypeFor("openvex"), "https://openvex.dev/ns");
  assert.equal(predicateTypeFor("https://example.com/p/v1"), "https://example.com/p/v1");
  assert.equal(predicateTypeFor("/local/type"), "/local/type");
  for (const bad of ["notreallyslsaprovenance", "", "toString", "https://", "with space:x"]) {
    assert.throws(
      () => predicateTypeFor(bad),
      (e) => isCosignError(e, "PAYLOAD_UNKNOWN_TYPE"),
      bad,
    );
  }
});

Deno.test("buildPredicate() wraps custom data, embeds spdx text and keeps JSON objects", () => {
  const now = new Date("2025-02-28T19:18:11.765Z");
  const custom = buildPredicate("custom", utf8('{"foo": "bar"}\n'), now);
  assert.equal(custom.predicateType, CUSTOM_PREDICATE_TYPE);
  assert.equal(
    encodeGoJson(toGoValue(custom.predicate)),
    '{"Data":"{\\"foo\\": \\"bar\\"}\\n","Timestamp":"2025-02-28T19:18:11Z"}',
  );
  // the custom URI given in full wraps too, as in cosign's generateCustomPredicate
  assert.equal(
    encodeGoJson(toGoValue(buildPredicate(CUSTOM_PREDICATE_TYPE, utf8("x"), now).predicate)),
    '{"Data":"x","Timestamp":"2025-02-28T19:18:11Z"}',
  );
  assert.deepEqual(buildPredicate("spdx", utf8("SPDXVersion: 2.2"), now), {
    predicateType: "https://spdx.dev/Document",
    predicate: "SPDXVersion: 2.2",
  });
  const json = buildPredicate("https://example.com/t", utf8('{"b":1,"a":{"d":2,"c":3}}'), now);
  assert.equal(encodeGoJson(toGoValue(json.predicate)), '{"a":{"c":3,"d":2},"b":1}');
});

Deno.test("buildPredicate() refuses predicates cosign refuses, naming the reason", () => {
  const now = new Date(0);
  const cases: [string, string, RegExp][] = [
    ["slsaprovenance", '{"builder":{"id":"x"}}', /required field "buildType" missing/],
    ["slsaprovenance02", '{"buildType":"x"}', /required field "builder" missing/],
    ["slsaprovenance1", '{"buildDefinition":{}}', /required field "runDetails" missing/],
    [
      "link",
      '{"_type":"link","name":"n","materials":{},"products":{},"byproducts":{},"command":[]}',
      /"environment"/,
    ],
    ["cyclonedx", "[1,2]", /must be a JSON object/],
    ["spdxjson", "not json", /Invalid JSON/],
    ["https://example.com/t", '"text"', /must be a JSON object/],
    ["vuln", '{"invocation":{"uri":7}}', /invocation\.uri: expected a string/],
    [
      "vuln",
      '{"metadata":{"scanStartedOn":"yesterday"}}',
      /metadata\.scanStartedOn: expected an RFC 3339 time/,
    ],
  ];
  for (const [type, file, reason] of cases) {
    assert.throws(
      () => buildPredicate(type, utf8(file), now),
      (e) => isCosignError(e, "PAYLOAD_INVALID_PREDICATE") && reason.test(e.message),
      `${type} ${file}`,
    );
  }
  assert.throws(
    () => buildPredicate("bogus", utf8("{}"), now),
    (e) => isCosignError(e, "PAYLOAD_UNKNOWN_TYPE"),
  );
  const slsa = buildPredicate(
    "slsaprovenance",
    utf8('{"builder":{"id":"2"},"buildType":"x","invocation":{"configSource":{}}}'),
    now,
  );
  assert.equal(
    encodeGoJson(toGoValue(slsa.predicate)),
    '{"buildType":"x","builder":{"id":"2"},"invocation":{"configSource":{}}}',
  );
});

Deno.test("buildPredicate() reshapes vuln predicates into cosign's struct, zero values included", () => {
  const built = buildPredicate(
    "vuln",
    utf8(
      '{"scanner":{"uri":"s","extra":1,"result":{"x":[1]}},"metadata":{"scanStartedOn":"2022-04-12T00:00:00.500+00:00"},"unknown":true}',
    ),
    new Date(0),
  );
  assert.equal(
    encodeGoJson(toGoValue(built.predicate)),
    '{"invocation":{"parameters":null,"uri":"","event_id":"","builder.id":""},' +
      '"scanner":{"uri":"s","version":"","db":{"uri":"","version":""},"result":{"x":[1]}},' +
      '"metadata":{"scanStartedOn":"2022-04-12T00:00:00.5Z","scanFinishedOn":"0001-01-01T00:00:00Z"}}',
  );
});

if (requireComponents("payload fixtures from the interop corpus", INTEROP)) {
  Deno.test("encodeSimpleSigningPayload() reproduces sigstore-rs's cosign payload.json files byte for byte", () => {
    for (const dir of ["legacy-image-signature-key", "legacy-image-signature-keyless-2021"]) {
      const original = readInteropBytes(`fixtures/sigstore-rs/${dir}/payload.json`);
      const decoded = decodeSimpleSigningPayload(original);
      assert.equal(decoded.type, "cosign container image signature");
      assert.equal(decoded.optional, null);
      assert.match(decoded.digest, /^sha256:[0-9a-f]{64}$/);
      assert.deepEqual(encodeSimpleSigningPayload(decoded), original, dir);
    }
  });

  Deno.test("buildCosignSignStatement() reproduces the statement of a real cosign v3 image signature", () => {
    const bundle = JSON.parse(readInteropText("fixtures/sigstore-rs/bundle_v03.json"));
    const signed = parseEnvelope(bundle.dsseEnvelope).payload;
    const built = buildCosignSignStatement({
      digest: "sha256:c811d58de79c92f03214e63aa339484e488d694ae8a6283b5f3f17a9faf50172",
    });
    assert.deepEqual(built, signed);
    const statement = parseStatement(signed);
    assert.equal(statement.predicateType, COSIGN_SIGN_PREDICATE_TYPE);
    assert.equal(statement.predicate, undefined);
  });

  Deno.test("buildStatement() and buildPredicate() reproduce a real cosign attest statement", () => {
    const bundle = JSON.parse(
      readInteropText("fixtures/cosign/testdata/oci-attestation.sigstore.json"),
    );
    const signed = parseEnvelope(bundle.dsseEnvelope).payload;
    const statement = parseStatement(signed);
    const predicate = statement.predicate as { Data: string; Timestamp: string };
    const built = buildPredicate("custom", utf8(predicate.Data), new Date(predicate.Timestamp));
    const bytes = buildStatement({ version: "v0.1", subjects: statement.subject, ...built });
    assert.deepEqual(bytes, signed);
  });

  Deno.test("findSubject() !== undefined gives cosign's verdicts on the verify-blob-attestation envelopes", () => {
    const blob = "658781cd4ed9bca60dacd09f7bb914bb51502e8b5d619f57f39a1d652596cc24";
    const expected: Record<string, boolean> = {
      blobSLSAProvenanceSignature: true,
      dssePredicateEmptySubject: false,
      dssePredicateMissingSha256: false,
      dssePredicateMultipleSubjects: true,
      dssePredicateMultipleSubjectsInvalid: false,
    };
    for (const [name, matches] of Object.entries(expected)) {
      const envelope = parseEnvelope(
        readInteropText(`fixtures/cosign/verify-blob-attestation/${name}.dsse.json`),
      );
      const statement = parseStatement(envelope.payload);
      assert.equal(statement.predicateType, predicateTypeFor("slsaprovenance"), name);
      assert.notEqual(statement.predicateType, predicateTypeFor("custom"), name);
      assert.equal(findSubject(statement, "sha256", blob) !== undefined, matches, name);
    }
  });

  Deno.test("buildPredicate() accepts cosign's e2e predicate files", () => {
    const now = new Date(0);
    const dir = "fixtures/cosign/testdata";
    const vuln = buildPredicate("vuln", readInteropBytes(`${dir}/vuln-predicate.json`), now);
    // the file already has cosign's field order and every field, so the struct writes it back
    const text = readInteropText(`${dir}/vuln-predicate.json`);
    assert.equal(encodeGoJson(toGoValue(vuln.predicate)), JSON.stringify(JSON.parse(text)));
    for (
      const [type, file] of [["spdxjson", "bom-go-mod.spdx.json"], [
        "cyclonedx",
        "bom-go-mod.cyclonedx.json",
      ], ["custom", "test-result.json"]]
    ) {
      const built = buildPredicate(type!, readInteropBytes(`${dir}/${file}`), now);
      assert.equal(built.predicateType, predicateTypeFor(type!));
    }
  });
}
