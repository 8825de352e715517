import assert from "node:assert/strict";
import { type Bytes, digest as hashBytes, sha256Digest, toHex, utf8 } from "../../lib/_bytes.ts";
import {
  DOCKER_MANIFEST,
  isRegistryError,
  isRepositoryName,
  MAX_MANIFEST_SIZE,
  OCI_INDEX,
  OCI_MANIFEST,
  type RegistryErrorCode,
  RegistryStore,
} from "../../server/registry_store.ts";
import { randomBytes } from "node:crypto";
import { fc } from "../_deps.ts";
import { tempDir } from "../_support.ts";

const EMPTY_CONFIG = utf8("{}");
const EMPTY_DIGEST = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";

function code(expected: RegistryErrorCode): (error: unknown) => boolean {
  return (error) => {
    assert.ok(isRegistryError(error), `expected a RegistryError, got ${error}`);
    assert.equal(error.code, expected, error.message);
    return true;
  };
}

function streamOf(...chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
}

async function readAll(body: ReadableStream<Uint8Array> | Bytes): Promise<Bytes> {
  if (body instanceof Uint8Array) return body;
  return new Uint8Array(await new Response(body).arrayBuffer());
}

function imageManifest(
  config: { digest: string; size: number; mediaType?: string },
  layers: { digest: string; size: number }[],
  extra: Record<string, unknown> = {},
): Bytes {
  return utf8(JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
    layers: layers.map((l) => ({ mediaType: "application/vnd.oci.image.layer.v1.tar", ...l })),
    ...extra,
  }));
}

/** A store with the empty config blob and one layer in `repo`, plus a manifest tagged "v1". */
async function seeded(store: RegistryStore, repo = "demo/app") {
  const layer = utf8("layer bytes");
  await store.putBlob(repo, EMPTY_DIGEST, EMPTY_CONFIG);
  await store.putBlob(repo, sha256Digest(layer), layer);
  const manifest = imageManifest({ digest: EMPTY_DIGEST, size: 2 }, [
    { digest: sha256Digest(layer), size: layer.length },
  ]);
  const put = store.putManifest(repo, "v1", manifest, OCI_MANIFEST);
  return { layer, manifest, digest: put.digest };
}

for (const mode of ["memory", "disk"] as const) {
  const open = async (dir: string) =>
    await RegistryStore.open(mode === "disk" ? { directory: dir } : {});

  Deno.test(`RegistryStore (${mode}) putBlob() stores bytes under their digest`, async () => {
    await using dir = await tempDir();
    const store = await open(dir.path);
    try {
      const bytes = new Uint8Array(randomBytes(200_000));
      const info = await store.putBlob("a/b", sha256Digest(bytes), streamOf(bytes));
      assert.deepEqual(info, { digest: sha256Digest(bytes), size: bytes.length });
      assert.deepEqual(store.statBlob("a/b", info.digest), info);
      const read = await store.readBlob("a/b", info.digest);
      assert.deepEqual(await readAll(read.body), bytes);
      const part = await store.readBlob("a/b", info.digest, { start: 10, end: 70_000 });
      assert.deepEqual(await readAll(part.body), bytes.slice(10, 70_000));
    } finally {
      await store.close();
    }
  });

  Deno.test(`RegistryStore (${mode}) refuses bytes that do not match the digest`, async () => {
    await using dir = await tempDir();
    const store = await open(dir.path);
    try {
      const other = sha256Digest(utf8("something else"));
      await assert.rejects(
        store.putBlob("a", other, utf8("payload")),
        code("SERVER_DIGEST_INVALID"),
      );
      assert.equal(store.statBlob("a", other), undefined);
      // The failed upload released its session and scratch data.
      assert.equal(store.statBlob("a", sha256Digest(utf8("payload"))), undefined);
    } finally {
      await store.close();
    }
  });

  Deno.test(`RegistryStore (${mode}) chunked uploads hash every split the same`, async () => {
    await using dir = await tempDir();
    const store = await open(dir.path);
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.uint8Array({ minLength: 0, maxLength: 3000 }),
          fc.array(fc.nat(3000), { maxLength: 6 }),
          async (data, cuts) => {
            const bytes = new Uint8Array(data);
            const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) =>
              a - b
            );
            const { id } = await store.startUpload("prop/test");
            let at = 0;
            for (const point of [...points, bytes.length]) {
              const status = await store.appendUpload("prop/test", id, bytes.slice(at, point), {
                start: at,
                length: point - at,
              });
              assert.equal(status.size, point);
              at = point;
            }
            const info = await store.finishUpload("prop/test", id, sha256Digest(bytes));
            assert.equal(info.size, bytes.length);
            assert.deepEqual(
              await readAll((await store.readBlob("prop/test", info.digest)).body),
              bytes,
            );
          },
        ),
        { numRuns: 25 },
      );
    } finally {
      await store.close();
    }
  });

  Deno.test(`RegistryStore (${mode}) finishUpload() checks sha512 digests too`, async () => {
    await using dir = await tempDir();
    const store = await open(dir.path);
    try {
      const bytes = utf8("sha512 content");
      const digest = `sha512:${toHex(hashBytes("sha512", bytes))}`;
      const { id } = await store.startUpload("a");
      await store.appendUpload("a", id, bytes);
      assert.deepEqual(await store.finishUpload("a", id, digest), { digest, size: bytes.length });
      const wrong = `sha512:${"0".repeat(128)}`;
      await assert.rejects(store.putBlob("a", wrong, bytes), code("SERVER_DIGEST_INVALID"));
    } finally {
      await store.close();
    }
  });
}

Deno.test("RegistryStore appendUpload() refuses an out-of-order chunk and keeps the session", async () => {
  const store = await RegistryStore.open();
  try {
    const { id } = await store.startUpload("a");
    await store.appendUpload("a", id, utf8("abc"), { start: 0, length: 3 });
    await assert.rejects(
      store.appendUpload("a", id, utf8("def"), { start: 5, length: 3 }),
      code("SERVER_UPLOAD_RANGE_INVALID"),
    );
    assert.equal(store.getUpload("a", id).size, 3);
    await store.appendUpload("a", id, utf8("def"), { start: 3, length: 3 });
    const info = await store.finishUpload("a", id, sha256Digest(utf8("abcdef")));
    assert.equal(info.size, 6);
  } finally {
    await store.close();
  }
});

Deno.test("RegistryStore ends a session whose chunk is shorter than declared", async () => {
  const store = await RegistryStore.open();
  try {
    const { id } = await store.startUpload("a");
    await assert.rejects(
      store.appendUpload("a", id, utf8("abc"), { length: 10 }),
      code("SERVER_SIZE_INVALID"),
    );
    assert.throws(() => store.getUpload("a", id), code("SERVER_BLOB_UPLOAD_UNKNOWN"));
  } finally {
    await store.close();
  }
});

Deno.test("RegistryStore refuses a blob over maxBlobSize before and while reading it", async () => {
  const store = await RegistryStore.open({ maxBlobSize: 1000 });
  try {
    const big = new Uint8Array(1001);
    await assert.rejects(
      store.putBlob("a", sha256Digest(big), big, { length: 1001 }),
      code("SERVER_BLOB_TOO_LARGE"),
    );
    let pulled = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled++;
        controller.enqueue(new Uint8Array(300));
      },
    });
    await assert.rejects(
      store.putBlob("a", sha256Digest(big), endless),
      code("SERVER_BLOB_TOO_LARGE"),
    );
    assert.ok(pulled <= 5, `read ${pulled} chunks of an oversized stream`);
  } finally {
    await store.close();
  }
});

Deno.test("RegistryStore bounds the number of open upload sessions", async () => {
  const store = await RegistryStore.open({ maxUploadSessions: 2 });
  try {
    const first = await store.startUpload("a");
    await store.startUpload("a");
    await assert.rejects(store.startUpload("a"), code("SERVER_TOO_MANY_UPLOADS"));
    await store.cancelUpload("a", first.id);
    await store.startUpload("a");
  } finally {
    await store.close();
  }
});

Deno.test("RegistryStore drops idle upload sessions after the timeout", async () => {
  let now = 0;
  const store = await RegistryStore.open({
    maxUploadSessions: 1,
    uploadTimeoutMs: 1000,
    now: () => now,
  });
  try {
    const stale = await store.startUpload("a");
    now = 1001;
    await store.startUpload("a");
    assert.throws(() => store.getUpload("a", stale.id), code("SERVER_BLOB_UPLOAD_UNKNOWN"));
  } finally {
    await store.close();
  }
});

Deno.test("RegistryStore upload sessions belong to their repository", async () => {
  const store = await RegistryStore.open();
  try {
    const { id } = await store.startUpload("a");
    assert.throws(() => store.getUpload("b", id), code("SERVER_BLOB_UPLOAD_UNKNOWN"));
    await assert.rejects(
      store.appendUpload("b", id, utf8("x")),
      code("SERVER_BLOB_UPLOAD_UNKNOWN"),
    );
  } finally {
    await store.close();
  }
});

Deno.test("isRepositoryName() follows the distribution-spec grammar", () => {
  for (const good of ["a", "library/ubuntu", "a/b/c/d", "my-app", "my__app", "a.b_c-d", "x--y"]) {
    assert.ok(isRepositoryName(good), good);
  }
  for (
    const bad of [
      "",
      "A",
      "a/",
      "/a",
      "a//b",
      "-a",
      "a-",
      "a___b",
      "a..b",
      "a:b",
      "a b",
      "_catalog",
    ]
  ) {
    assert.ok(!isRepositoryName(bad), bad);
  }
  assert.ok(isRepositoryName("a".repeat(255)));
  assert.ok(!isRepositoryName("a".repeat(256)));
});

Deno.test("RegistryStore refuses invalid names and digests with typed codes", async () => {
  const store = await RegistryStore.open();
  try {
    await assert.rejects(store.startUpload("Bad/Name"), code("SERVER_NAME_INVALID"));
    assert.throws(() => store.statBlob("a", "sha256:xyz"), code("SERVER_DIGEST_INVALID"));
    assert.throws(
      () => store.statBlob("a", `md5:${"0".repeat(32)}`),
      code("SERVER_DIGEST_INVALID"),
    );
    assert.throws(() => store.getManifest("a", "sha256:abc"), code("SERVER_DIGEST_INVALID"));
    assert.throws(() => store.getManifest("a", "bad tag!"), code("SERVER_MANIFEST_UNKNOWN"));
    assert.throws(
      () => store.putManifest("a", "bad tag!", utf8("{}"), OCI_MANIFEST),
      code("SERVER_MANIFEST_INVALID"),
    );
  } finally {
    await store.close();
  }
});

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
    store.putManifest("a", "v1", manifest, OCI_MANIFEST);
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

Deno.test("RegistryStore mountBlob() links only blobs the source repository has", async () => {
  const store = await RegistryStore.open();
  try {
    const { layer } = await seeded(store, "src/repo");
    const digest = sha256Digest(layer);
    assert.equal(store.mountBlob("dst/repo", "nowhere", digest), undefined);
    assert.equal(store.mountBlob("dst/repo", "src/repo", "sha256:bad"), undefined);
    assert.equal(store.statBlob("dst/repo", digest), undefined);
    assert.deepEqual(store.mountBlob("dst/repo", "src/repo", digest), {
      digest,
      size: layer.length,
    });
    assert.deepEqual(store.statBlob("dst/repo", digest), { digest, size: layer.length });
    store.deleteBlob("dst/repo", digest);
    assert.equal(store.statBlob("dst/repo", digest), undefined);
    assert.ok(store.statBlob("src/repo", digest));
    assert.throws(() => store.deleteBlob("dst/repo", digest), code("SERVER_BLOB_UNKNOWN"));
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

Deno.test("RegistryStore blames a body stream that fails on the client (BLOB_UPLOAD_INVALID)", async () => {
  const store = await RegistryStore.open();
  try {
    const broken = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(utf8("partial"));
        controller.error(new Error("connection reset"));
      },
    });
    const { id } = await store.startUpload("a");
    await assert.rejects(store.appendUpload("a", id, broken), code("SERVER_BLOB_UPLOAD_INVALID"));
    assert.throws(() => store.getUpload("a", id), code("SERVER_BLOB_UPLOAD_UNKNOWN"));
  } finally {
    await store.close();
  }
});
