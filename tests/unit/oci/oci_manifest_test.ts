import assert from "node:assert/strict";
import { utf8 } from "../../../lib/util/bytes.ts";
import { isCosignError } from "../../../lib/errors.ts";
import {
  encodeIndex,
  encodeManifest,
  goJsonString,
  MEDIA_TYPE,
  type OciDescriptor,
  type OciManifest,
  parseIndex,
  parseManifest,
} from "../../../lib/oci/manifest.ts";
import { fc } from "../../_deps.ts";

const DIGEST = `sha256:${"a".repeat(64)}`;

const descriptor = fc.record(
  {
    mediaType: fc.constantFrom(MEDIA_TYPE.SIMPLE_SIGNING, MEDIA_TYPE.DSSE_ENVELOPE, "text/plain"),
    digest: fc.stringMatching(/^[0-9a-f]{64}$/).map((h) => `sha256:${h}`),
    size: fc.nat(),
    annotations: fc.dictionary(
      fc.string({ minLength: 1, maxLength: 8 }),
      fc.string({ maxLength: 30 }),
      {
        minKeys: 1,
        maxKeys: 4,
      },
    ),
    artifactType: fc.constantFrom("application/a", "application/vnd.dev.sigstore.bundle.v0.3+json"),
  },
  { requiredKeys: ["mediaType", "digest", "size"] },
) as fc.Arbitrary<OciDescriptor>;

Deno.test("parseManifest(encodeManifest(m)) gives m back", () => {
  const manifest = fc.record(
    {
      schemaVersion: fc.constant(2 as const),
      mediaType: fc.constantFrom(MEDIA_TYPE.OCI_MANIFEST, MEDIA_TYPE.DOCKER_MANIFEST),
      config: descriptor,
      layers: fc.array(descriptor, { maxLength: 5 }),
      subject: descriptor,
      annotations: fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.string(), {
        minKeys: 1,
        maxKeys: 3,
      }),
      artifactType: fc.constant("application/x"),
    },
    { requiredKeys: ["schemaVersion", "config", "layers"] },
  ) as fc.Arbitrary<OciManifest>;
  fc.assert(fc.property(manifest, (m) => {
    assert.deepEqual(parseManifest(utf8(encodeManifest(m))), structuredClone(m));
  }));
});

Deno.test("parseIndex(encodeIndex(i)) gives i back, platforms included", () => {
  const entry = fc.record({
    mediaType: fc.constant(MEDIA_TYPE.OCI_MANIFEST),
    digest: fc.stringMatching(/^[0-9a-f]{64}$/).map((h) => `sha256:${h}`),
    size: fc.nat(),
    platform: fc.record({
      architecture: fc.constantFrom("amd64", "arm64"),
      os: fc.constant("linux"),
    }),
  });
  fc.assert(fc.property(fc.array(entry, { maxLength: 5 }), (manifests) => {
    const index = { schemaVersion: 2 as const, mediaType: MEDIA_TYPE.OCI_INDEX, manifests };
    assert.deepEqual(parseIndex(utf8(encodeIndex(index))), structuredClone(index));
  }));
});

Deno.test("encodeManifest() writes Go's field order, sorted annotations and HTML-safe escapes", () => {
  const text = encodeManifest({
    schemaVersion: 2,
    mediaType: MEDIA_TYPE.OCI_MANIFEST,
    config: { mediaType: MEDIA_TYPE.OCI_CONFIG, size: 233, digest: DIGEST },
    layers: [{
      mediaType: MEDIA_TYPE.SIMPLE_SIGNING,
      size: 1,
      digest: DIGEST,
      annotations: { "z": "1", "a": "<&>", "10": "x", "9": "y" },
    }],
  });
  assert.equal(
    text,
    `{"schemaVersion":2,"mediaType":"${MEDIA_TYPE.OCI_MANIFEST}",` +
      `"config":{"mediaType":"${MEDIA_TYPE.OCI_CONFIG}","size":233,"digest":"${DIGEST}"},` +
      `"layers":[{"mediaType":"${MEDIA_TYPE.SIMPLE_SIGNING}","size":1,"digest":"${DIGEST}",` +
      `"annotations":{"10":"x","9":"y","a":"\\u003c\\u0026\\u003e","z":"1"}}]}`,
  );
  assert.equal(goJsonString("a\u2028b\n"), '"a\\u2028b\\n"');
});

Deno.test("parseManifest() keeps a __proto__ annotation as data", () => {
  const text = `{"schemaVersion":2,"config":{"mediaType":"x","size":1,"digest":"${DIGEST}",` +
    `"annotations":{"__proto__":"v"}},"layers":[]}`;
  const annotations = parseManifest(utf8(text)).config.annotations!;
  assert.equal(Object.getPrototypeOf(annotations), Object.prototype);
  assert.deepEqual(Object.entries(annotations), [["__proto__", "v"]]);
});

Deno.test("parseManifest() counts layers before reading them: OCI_TOO_MANY_LAYERS", () => {
  const bytes = utf8(JSON.stringify({
    schemaVersion: 2,
    config: { mediaType: "x", size: 1, digest: DIGEST },
    layers: Array.from({ length: 1001 }, () => "not even a descriptor"),
  }));
  assert.throws(() => parseManifest(bytes), (e) => isCosignError(e, "OCI_TOO_MANY_LAYERS"));
  assert.throws(
    () => parseManifest(bytes, { maxLayers: 10 }),
    (e) => isCosignError(e, "OCI_TOO_MANY_LAYERS"),
  );
});

Deno.test("parseManifest() and parseIndex() refuse malformed documents with OCI_MANIFEST_INVALID", () => {
  const bad = [
    "{",
    "[]",
    '{"schemaVersion":1,"config":{},"layers":[]}',
    `{"schemaVersion":2,"layers":[]}`,
    `{"schemaVersion":2,"config":{"mediaType":"x","size":-1,"digest":"${DIGEST}"},"layers":[]}`,
    `{"schemaVersion":2,"config":{"mediaType":"x","size":1,"digest":"sha256:zz"},"layers":[]}`,
    `{"schemaVersion":2,"config":{"mediaType":"x","size":1,"digest":"${DIGEST}"},"layers":[],"annotations":{"a":1}}`,
    `{"schemaVersion":2,"mediaType":"${MEDIA_TYPE.OCI_INDEX}","config":{"mediaType":"x","size":1,"digest":"${DIGEST}"},"layers":[]}`,
  ];
  for (const text of bad) {
    assert.throws(
      () => parseManifest(utf8(text)),
      (e) => isCosignError(e, "OCI_MANIFEST_INVALID"),
      text,
    );
  }
  assert.throws(
    () => parseIndex(utf8('{"schemaVersion":2}')),
    (e) => isCosignError(e, "OCI_MANIFEST_INVALID"),
  );
  assert.throws(
    () =>
      parseIndex(
        utf8(`{"schemaVersion":2,"mediaType":"${MEDIA_TYPE.OCI_MANIFEST}","manifests":[]}`),
      ),
    (e) => isCosignError(e, "OCI_MANIFEST_INVALID"),
  );
  const big = JSON.stringify({
    schemaVersion: 2,
    manifests: Array.from({ length: 1001 }, () => 0),
  });
  assert.throws(() => parseIndex(utf8(big)), (e) => isCosignError(e, "OCI_TOO_MANY_MANIFESTS"));
});
