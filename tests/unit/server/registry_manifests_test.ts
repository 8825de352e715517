import assert from "node:assert/strict";
import { sha256Digest, utf8 } from "../../../lib/util/bytes.ts";
import {
  DOCKER_MANIFEST,
  isRegistryError,
  MAX_MANIFEST_SIZE,
  MAX_PAGE_SIZE,
  OCI_INDEX,
  OCI_MANIFEST,
  RegistryStore,
} from "../../../server/registry/store.ts";
import { tempDir } from "../../_support.ts";
import {
  code,
  EMPTY_CONFIG,
  EMPTY_DIGEST,
  imageManifest,
  readAll,
  seeded,
} from "../_registry_fixtures.ts";

Deno.test("RegistryStore putManifest() keeps the exact bytes under tag and digest", async () => {
  const store = await RegistryStore.open();
  try {
    const { manifest, digest } = await seeded(store);
    assert.equal(digest, sha256Digest(manifest));
    for (const ref of ["v1", digest]) {
      const got = store.getManifest("demo/app", ref);
      assert.deepEqual(got.bytes, manifest);
      assert.equal(got.digest, digest);
      assert.equal(got.mediaType, OCI_MANIFEST);
    }
    // Pushing by digest checks the digest against the bytes.
    const wrong = sha256Digest(utf8("nope"));
    assert.throws(
      () => store.putManifest("demo/app", wrong, manifest, OCI_MANIFEST),
      code("SERVER_DIGEST_INVALID"),
    );
  } finally {
    await store.close();
  }
});

Deno.test("RegistryStore putManifest() refuses manifests naming blobs the repository lacks", async () => {
  const store = await RegistryStore.open();
  try {
    await seeded(store, "other/repo");
    const missing = sha256Digest(utf8("missing layer"));
    const manifest = imageManifest({ digest: EMPTY_DIGEST, size: 2 }, [
      { digest: missing, size: 13 },
      { digest: sha256Digest(utf8("layer bytes")), size: 11 },
    ]);
    // The config and second layer exist, but only in another repository.
    assert.throws(
      () => store.putManifest("demo/app", "v1", manifest, OCI_MANIFEST),
      (error) => {
        assert.ok(isRegistryError(error, "SERVER_MANIFEST_BLOB_UNKNOWN"));
        assert.deepEqual(
          [error.detail, ...error.items.map((i) => i.detail)],
          [{ digest: EMPTY_DIGEST }, { digest: missing }, {
            digest: sha256Digest(utf8("layer bytes")),
          }],
        );
        return true;
      },
    );
    assert.throws(() => store.getManifest("demo/app", "v1"), code("SERVER_MANIFEST_UNKNOWN"));
  } finally {
    await store.close();
  }
});

Deno.test("RegistryStore putManifest() refuses a descriptor with the wrong size", async () => {
  const store = await RegistryStore.open();
  try {
    await store.putBlob("a", EMPTY_DIGEST, EMPTY_CONFIG);
    const manifest = imageManifest({ digest: EMPTY_DIGEST, size: 3 }, []);
    assert.throws(
      () => store.putManifest("a", "v1", manifest, OCI_MANIFEST),
      code("SERVER_MANIFEST_INVALID"),
    );
  } finally {
    await store.close();
  }
});

Deno.test("RegistryStore putManifest() skips foreign layers that carry URLs", async () => {
  const store = await RegistryStore.open();
  try {
    await store.putBlob("a", EMPTY_DIGEST, EMPTY_CONFIG);
    const manifest = utf8(JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: {
        mediaType: "application/vnd.oci.image.config.v1+json",
        digest: EMPTY_DIGEST,
        size: 2,
      },
      layers: [{
        mediaType: "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
        digest: sha256Digest(utf8("elsewhere")),
        size: 9,
        urls: ["https://example.com/layer"],
      }],
    }));
    const stored = store.putManifest("a", "v1", manifest, OCI_MANIFEST);
    // Stored under its tag, byte for byte, though the layer's bytes are not in the registry.
    const fetched = store.getManifest("a", "v1");
    assert.equal(fetched.digest, stored.digest);
    assert.deepEqual(fetched.bytes, manifest);
    assert.equal(store.statBlob("a", sha256Digest(utf8("elsewhere"))), undefined);
    // The same layer without URLs is a blob the registry must have: refused.
    const local = utf8(
      new TextDecoder().decode(manifest).replace(
        ',"urls":["https://example.com/layer"]',
        "",
      ),
    );
    assert.throws(
      () => store.putManifest("a", "v2", local, OCI_MANIFEST),
      code("SERVER_MANIFEST_BLOB_UNKNOWN"),
    );
  } finally {
    await store.close();
  }
});

Deno.test("RegistryStore putManifest() validates the manifest document", async () => {
  const store = await RegistryStore.open();
  try {
    await store.putBlob("a", EMPTY_DIGEST, EMPTY_CONFIG);
    const config = {
      mediaType: "application/vnd.oci.image.config.v1+json",
      digest: EMPTY_DIGEST,
      size: 2,
    };
    const cases: [string, unknown, string | undefined][] = [
      ["not an object", [], OCI_MANIFEST],
      ["schemaVersion 1", { schemaVersion: 1, config, layers: [] }, OCI_MANIFEST],
      ["no layers", { schemaVersion: 2, config }, OCI_MANIFEST],
      [
        "bad descriptor size",
        { schemaVersion: 2, config: { ...config, size: -1 }, layers: [] },
        OCI_MANIFEST,
      ],
      ["bad descriptor digest", {
        schemaVersion: 2,
        config: { ...config, digest: "sha256:00" },
        layers: [],
      }, OCI_MANIFEST],
      ["mediaType differs from Content-Type", {
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: [],
      }, OCI_MANIFEST],
      ["unknown media type", { schemaVersion: 2, config, layers: [] }, "application/json"],
      ["ambiguous image", { schemaVersion: 2, config, layers: [], manifests: [] }, OCI_MANIFEST],
      ["ambiguous index", { schemaVersion: 2, manifests: [], layers: [] }, OCI_INDEX],
      ["docker without mediaType", { schemaVersion: 2, config, layers: [] }, DOCKER_MANIFEST],
      [
        "non-string annotation",
        { schemaVersion: 2, config, layers: [], annotations: { a: 1 } },
        OCI_MANIFEST,
      ],
    ];
    for (const [what, doc, type] of cases) {
      assert.throws(
        () => store.putManifest("a", "v1", utf8(JSON.stringify(doc)), type),
        code("SERVER_MANIFEST_INVALID"),
        what,
      );
    }
    assert.throws(
      () => store.putManifest("a", "v1", utf8("{not json"), OCI_MANIFEST),
      code("SERVER_MANIFEST_INVALID"),
    );
    // Without a usable Content-Type the document's own mediaType decides.
    const ok = store.putManifest(
      "a",
      "v2",
      utf8(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [] })),
      "application/octet-stream",
    );
    assert.equal(ok.mediaType, OCI_MANIFEST);
  } finally {
    await store.close();
  }
});

Deno.test("RegistryStore putManifest() refuses manifests over 4 MiB", async () => {
  const store = await RegistryStore.open();
  try {
    const big = new Uint8Array(MAX_MANIFEST_SIZE + 1).fill(0x20);
    assert.throws(
      () => store.putManifest("a", "v1", big, OCI_MANIFEST),
      code("SERVER_MANIFEST_TOO_LARGE"),
    );
  } finally {
    await store.close();
  }
});

Deno.test("RegistryStore indexes need their child manifests in the repository", async () => {
  const store = await RegistryStore.open();
  try {
    const { manifest, digest } = await seeded(store);
    const index = (children: { digest: string; size: number }[]) =>
      utf8(JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: children.map((c) => ({ mediaType: OCI_MANIFEST, ...c })),
      }));
    const missing = sha256Digest(utf8("no such manifest"));
    assert.throws(
      () =>
        store.putManifest("demo/app", "multi", index([{ digest: missing, size: 5 }]), OCI_INDEX),
      code("SERVER_MANIFEST_BLOB_UNKNOWN"),
    );
    const ok = store.putManifest(
      "demo/app",
      "multi",
      index([{ digest, size: manifest.length }]),
      OCI_INDEX,
    );
    assert.equal(store.getManifest("demo/app", "multi").mediaType, OCI_INDEX);
    assert.equal(store.getManifest("demo/app", ok.digest).digest, ok.digest);
  } finally {
    await store.close();
  }
});

Deno.test("RegistryStore listTags() pages in byte order", async () => {
  const store = await RegistryStore.open();
  try {
    const { manifest } = await seeded(store);
    for (const tag of ["b", "a", "C", "c", "a1"]) {
      store.putManifest("demo/app", tag, manifest, OCI_MANIFEST);
    }
    assert.deepEqual(store.listTags("demo/app").items, ["C", "a", "a1", "b", "c", "v1"]);
    const first = store.listTags("demo/app", { n: 2 });
    assert.deepEqual(first, { items: ["C", "a"], next: "a" });
    const second = store.listTags("demo/app", { n: 3, last: first.next! });
    assert.deepEqual(second, { items: ["a1", "b", "c"], next: "c" });
    assert.deepEqual(store.listTags("demo/app", { n: 3, last: "c" }), { items: ["v1"] });
    assert.deepEqual(store.listTags("demo/app", { n: 0 }), { items: [] });
    assert.throws(() => store.listTags("demo/app", { n: -1 }), code("SERVER_PAGINATION_INVALID"));
    assert.throws(() => store.listTags("no/such"), code("SERVER_NAME_UNKNOWN"));
    assert.deepEqual(store.listRepositories().items, ["demo/app"]);
  } finally {
    await store.close();
  }
});

Deno.test("RegistryStore listReferrers() indexes subject-bearing manifests", async () => {
  const store = await RegistryStore.open();
  try {
    const { digest: subject, manifest: subjectBytes } = await seeded(store);
    const referrer = (artifactType: string | undefined, note: string) =>
      imageManifest(
        { digest: EMPTY_DIGEST, size: 2, mediaType: "application/vnd.oci.empty.v1+json" },
        [],
        {
          ...(artifactType === undefined ? {} : { artifactType }),
          subject: { mediaType: OCI_MANIFEST, digest: subject, size: subjectBytes.length },
          annotations: { note },
        },
      );
    const sig = referrer("application/vnd.dev.sigstore.bundle.v0.3+json", "one");
    const sbom = referrer(undefined, "two");
    const put = store.putManifest("demo/app", sha256Digest(sig), sig, OCI_MANIFEST);
    assert.equal(put.subject, subject);
    store.putManifest("demo/app", sha256Digest(sbom), sbom, OCI_MANIFEST);

    const all = store.listReferrers("demo/app", subject);
    assert.deepEqual(all.items, [
      {
        mediaType: OCI_MANIFEST,
        digest: sha256Digest(sig),
        size: sig.length,
        artifactType: "application/vnd.dev.sigstore.bundle.v0.3+json",
        annotations: { note: "one" },
      },
      {
        mediaType: OCI_MANIFEST,
        digest: sha256Digest(sbom),
        size: sbom.length,
        // No artifactType: the config media type stands in (distribution-spec v1.1).
        artifactType: "application/vnd.oci.empty.v1+json",
        annotations: { note: "two" },
      },
    ]);
    const filtered = store.listReferrers("demo/app", subject, {
      artifactType: "application/vnd.dev.sigstore.bundle.v0.3+json",
    });
    assert.deepEqual(filtered.items.map((d) => d.digest), [sha256Digest(sig)]);
    const paged = store.listReferrers("demo/app", subject, { n: 1 });
    assert.equal(paged.items.length, 1);
    assert.deepEqual(
      store.listReferrers("demo/app", subject, { n: 1, last: paged.next! }).items.map((d) =>
        d.digest
      ),
      [sha256Digest(sbom)],
    );
    // Unknown subjects and other repositories have no referrers, without an error.
    assert.deepEqual(store.listReferrers("demo/app", sha256Digest(utf8("x"))).items, []);
    assert.deepEqual(store.listReferrers("other/repo", subject).items, []);
    // Deleting a referrer removes it from the index.
    store.deleteManifest("demo/app", sha256Digest(sig));
    assert.deepEqual(store.listReferrers("demo/app", subject).items.map((d) => d.digest), [
      sha256Digest(sbom),
    ]);
  } finally {
    await store.close();
  }
});

Deno.test("RegistryStore deleteManifest() by tag keeps the manifest, by digest drops its tags", async () => {
  const store = await RegistryStore.open();
  try {
    const { manifest, digest } = await seeded(store);
    store.putManifest("demo/app", "v2", manifest, OCI_MANIFEST);
    store.deleteManifest("demo/app", "v1");
    assert.throws(() => store.getManifest("demo/app", "v1"), code("SERVER_MANIFEST_UNKNOWN"));
    assert.equal(store.getManifest("demo/app", "v2").digest, digest);
    store.deleteManifest("demo/app", digest);
    assert.throws(() => store.getManifest("demo/app", "v2"), code("SERVER_MANIFEST_UNKNOWN"));
    assert.deepEqual(store.listTags("demo/app").items, []);
    assert.throws(() => store.deleteManifest("demo/app", digest), code("SERVER_MANIFEST_UNKNOWN"));
  } finally {
    await store.close();
  }
});

Deno.test("RegistryStore on disk keeps blobs, manifests, tags and referrers across reopen", async () => {
  await using dir = await tempDir();
  const first = await RegistryStore.open({ directory: dir.path });
  const { manifest, digest, layer } = await seeded(first);
  const { id } = await first.startUpload("demo/app");
  await first.appendUpload("demo/app", id, utf8("unfinished"));
  await first.close();

  const second = await RegistryStore.open({ directory: dir.path });
  try {
    assert.deepEqual(second.getManifest("demo/app", "v1").bytes, manifest);
    assert.equal(second.getManifest("demo/app", digest).digest, digest);
    assert.deepEqual(second.listTags("demo/app").items, ["v1"]);
    const blob = await second.readBlob("demo/app", sha256Digest(layer));
    assert.deepEqual(await readAll(blob.body), layer);
    // Upload sessions do not survive a restart.
    assert.throws(() => second.getUpload("demo/app", id), code("SERVER_BLOB_UPLOAD_UNKNOWN"));
    const scratch = [...Deno.readDirSync(dir.path)].map((e) => e.name);
    assert.ok(!scratch.includes("uploads"), `scratch left behind: ${scratch}`);
  } finally {
    await second.close();
  }
});

Deno.test("RegistryStore serves a manifest through the blob endpoint too", async () => {
  const store = await RegistryStore.open();
  try {
    const { manifest, digest } = await seeded(store);
    assert.deepEqual(store.statBlob("demo/app", digest), { digest, size: manifest.length });
    const read = await store.readBlob("demo/app", digest);
    assert.deepEqual(await readAll(read.body), manifest);
  } finally {
    await store.close();
  }
});

Deno.test("RegistryStore caps a referrers page at MAX_PAGE_SIZE and pages the rest", async () => {
  const store = await RegistryStore.open();
  try {
    const { digest: subject, manifest } = await seeded(store);
    const count = MAX_PAGE_SIZE + 1;
    for (let i = 0; i < count; i++) {
      const referrer = imageManifest({ digest: EMPTY_DIGEST, size: 2 }, [], {
        subject: { mediaType: OCI_MANIFEST, digest: subject, size: manifest.length },
        annotations: { i: String(i) },
      });
      store.putManifest("demo/app", sha256Digest(referrer), referrer, OCI_MANIFEST);
    }
    const first = store.listReferrers("demo/app", subject, { n: 1_000_000 });
    assert.equal(first.items.length, MAX_PAGE_SIZE);
    assert.equal(first.items[0]?.annotations?.i, "0");
    assert.notEqual(first.next, undefined);
    const rest = store.listReferrers("demo/app", subject, { last: first.next! });
    assert.deepEqual(rest.items.map((d) => d.annotations?.i), [String(MAX_PAGE_SIZE)]);
    assert.equal(rest.next, undefined);
  } finally {
    await store.close();
  }
});
