import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { digest as hashBytes, sha256Digest, toHex, utf8 } from "../../../lib/util/bytes.ts";
import { isRepositoryName, OCI_MANIFEST, RegistryStore } from "../../../server/registry/store.ts";
import { fc } from "../../_deps.ts";
import { tempDir } from "../../_support.ts";
import { code, readAll, seeded, streamOf } from "../_registry_fixtures.ts";

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
