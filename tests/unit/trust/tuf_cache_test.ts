/**
 * The TUF cache and its policy: safe names, atomic writes, no request while fresh, exactly the
 * requests TUF needs once stale, offline behaviour, the memory fallback with one warning, a
 * cosign cache beside ours left alone, damaged caches repaired, and `initializeTuf`.
 */

import assert from "node:assert/strict";
import { isCosignError } from "../../../lib/errors.ts";
import {
  escapeCacheName,
  mirrorCacheDir,
  readRememberedMirror,
  writeFileAtomic,
} from "../../../lib/trust/tuf/cache.ts";
import { initializeTuf, TufClient } from "../../../lib/trust/tuf/client.ts";
import { fc } from "../../_deps.ts";
import { tempDir } from "../../_support.ts";
import {
  listFiles,
  MIRROR,
  sha256,
  SIGNING_CONFIG,
  T0,
  TRUSTED_ROOT,
  tufFixture,
} from "./_tuf_fixtures.ts";

const HOUR = 60 * 60 * 1000;
const later = (ms: number) => new Date(T0.getTime() + ms);

Deno.test("escapeCacheName() yields one safe, distinct path segment for any name (property)", () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.string({ minLength: 1, unit: "binary" }), { minLength: 1, maxLength: 8 }),
      (names) => {
        const escaped = names.map(escapeCacheName);
        for (const segment of escaped) {
          assert.match(segment, /^[A-Za-z0-9_.%~-]+$/); // never a separator or a NUL
          assert.ok(segment !== "." && segment !== ".." && !segment.startsWith("."), segment);
          assert.ok(segment.length <= 200 || /^~[0-9a-f]{64}$/.test(segment), segment);
        }
        assert.equal(new Set(escaped).size, names.length);
      },
    ),
  );
  assert.equal(escapeCacheName("registry.npmjs.org/keys.json"), "registry.npmjs.org%2Fkeys.json");
  assert.match(escapeCacheName("x".repeat(500)), /^~[0-9a-f]{64}$/);
  assert.equal(
    mirrorCacheDir("/home/u/.sigstore/root/", "https://a.b/c"),
    "/home/u/.sigstore/root/dcosign/https%3A%2F%2Fa.b%2Fc",
  );
});

Deno.test("writeFileAtomic() under concurrent writers leaves one complete file and no temporary files", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/sub/file.json`;
  const contents = Array.from({ length: 16 }, (_, i) => new Uint8Array(256 * 1024).fill(i));
  await Promise.all(contents.map((bytes) => writeFileAtomic(path, bytes)));
  const final = await Deno.readFile(path);
  assert.ok(contents.some((bytes) => sha256(bytes) === sha256(final)));
  assert.deepEqual([...(await listFiles(`${dir.path}/sub`)).keys()], ["file.json"]);
});

Deno.test("a second client within cache validity sends zero requests", async () => {
  const fx = await tufFixture();
  await using dir = await tempDir();
  const first = fx.client({ cacheDir: dir.path });
  await first.trustedRootBytes();
  await first.signingConfigBytes();
  const before = fx.requests.length;
  fx.setNow(later(23 * HOUR));
  const second = fx.client({ cacheDir: dir.path });
  assert.deepEqual(await second.trustedRootBytes(), TRUSTED_ROOT);
  assert.deepEqual(await second.signingConfigBytes(), SIGNING_CONFIG);
  assert.equal((await second.refresh()).source, "cache");
  assert.deepEqual(fx.requests.slice(before), []);
});

Deno.test("past cache validity or the timestamp's expiry, the client sends exactly the requests TUF needs", async () => {
  const fx = await tufFixture();
  await using dir = await tempDir();
  const options = { cacheDir: dir.path, cacheValidity: HOUR };
  await fx.client(options).trustedRootBytes();
  await fx.client(options).signingConfigBytes();

  // Nothing changed: the N+1 root probe and the timestamp (same version), nothing else.
  let mark = fx.requests.length;
  fx.setNow(later(2 * HOUR));
  await fx.client(options).trustedRootBytes();
  assert.deepEqual(fx.requests.slice(mark), ["/tuf/2.root.json", "/tuf/timestamp.json"]);

  // A re-signed timestamp naming the same snapshot: still no snapshot or targets request.
  mark = fx.requests.length;
  fx.setNow(later(13 * HOUR)); // past half the timestamp's day: the repository re-signs it
  const resigned = await fx.client(options).refresh();
  assert.equal(resigned.timestamp.signed.version, 3);
  assert.deepEqual(fx.requests.slice(mark), ["/tuf/2.root.json", "/tuf/timestamp.json"]);

  // New targets: snapshot, targets and the changed target file, and only those.
  const newRoot = new TextEncoder().encode('{"mediaType":"trusted-root-v2"}\n');
  await fx.repo.setTargets({
    "trusted_root.json": newRoot,
    "signing_config.v0.2.json": SIGNING_CONFIG,
  });
  mark = fx.requests.length;
  fx.setNow(later(15 * HOUR));
  const client = fx.client(options);
  assert.deepEqual(await client.trustedRootBytes(), newRoot);
  assert.deepEqual(await client.signingConfigBytes(), SIGNING_CONFIG);
  assert.deepEqual(fx.requests.slice(mark), [
    "/tuf/2.root.json",
    "/tuf/timestamp.json",
    "/tuf/3.snapshot.json",
    "/tuf/3.targets.json",
    `/tuf/targets/${sha256(newRoot)}.trusted_root.json`,
  ]);

  // The cached timestamp itself expired (published at 13 h, expiring at 37 h): a fresh one
  // naming the same snapshot is all it takes.
  mark = fx.requests.length;
  fx.setNow(later(40 * HOUR));
  const renewed = fx.client(options);
  assert.deepEqual(await renewed.trustedRootBytes(), newRoot);
  assert.ok((await renewed.refresh()).timestamp.signed.expiresAt > later(40 * HOUR).getTime());
  assert.deepEqual(fx.requests.slice(mark), ["/tuf/2.root.json", "/tuf/timestamp.json"]);
});

Deno.test("offline: a valid cache serves with zero requests whatever its age; an empty one fails with one line", async () => {
  const fx = await tufFixture();
  await using dir = await tempDir();
  await fx.client({ cacheDir: dir.path }).signingConfigBytes();
  await fx.client({ cacheDir: dir.path }).trustedRootBytes();
  const before = fx.requests.length;
  fx.setNow(later(20 * HOUR)); // past a one-hour validity, before the timestamp expires
  const offline = fx.client({ cacheDir: dir.path, offline: true, cacheValidity: HOUR });
  assert.deepEqual(await offline.trustedRootBytes(), TRUSTED_ROOT);
  assert.deepEqual(await offline.signingConfigBytes(), SIGNING_CONFIG);
  assert.equal(fx.requests.length, before);

  await using empty = await tempDir();
  await assert.rejects(
    fx.client({ cacheDir: empty.path, offline: true }).trustedRootBytes(),
    (e) => {
      assert.ok(isCosignError(e, "TRUST_TUF_OFFLINE"));
      assert.match(
        e.message,
        /no verified timestamp metadata is cached; run `dcosign initialize` while online$/,
      );
      assert.ok(!e.message.includes("\n"));
      return true;
    },
  );
  assert.equal(fx.requests.length, before);
});

Deno.test("offline: expired cached metadata fails with TRUST_TUF_OFFLINE naming the role and expiry", async () => {
  const fx = await tufFixture();
  await using dir = await tempDir();
  await fx.client({ cacheDir: dir.path }).trustedRootBytes();
  fx.setNow(later(30 * HOUR));
  await assert.rejects(
    fx.client({ cacheDir: dir.path, offline: true }).trustedRootBytes(),
    (e) =>
      isCosignError(e, "TRUST_TUF_OFFLINE") &&
      /cached timestamp metadata \(version 2\) expired at "2030-01-02T00:00:00Z"/.test(e.message),
  );
});

Deno.test("an unwritable cache directory falls back to memory with exactly one warning", async () => {
  const fx = await tufFixture();
  await using dir = await tempDir();
  const file = `${dir.path}/not-a-directory`;
  await Deno.writeTextFile(file, "");
  for (
    const options of [
      { cacheDir: `${file}/tuf` }, // every mkdir fails, even as root (ENOTDIR)
      { env: (name: string) => (name === "HOME" ? "/dev/null" : undefined) }, // HOME not a directory
      { env: () => undefined }, // neither TUF_ROOT nor HOME
    ]
  ) {
    const warnings: string[] = [];
    const client = fx.client({ ...options, warn: (m) => warnings.push(m) });
    assert.deepEqual(await client.trustedRootBytes(), TRUSTED_ROOT);
    assert.deepEqual(await client.signingConfigBytes(), SIGNING_CONFIG);
    assert.equal(await client.cacheMode(), "memory");
    assert.equal(warnings.length, 1, JSON.stringify(warnings));
    assert.match(warnings[0]!, /kept in memory for this run/);
  }
});

Deno.test("the client writes only under <TUF root>/dcosign/ and leaves a cosign cache beside it untouched", async () => {
  const fx = await tufFixture();
  await using dir = await tempDir();
  const cosign = `${dir.path}/${encodeURIComponent(MIRROR)}`;
  await Deno.mkdir(cosign, { recursive: true });
  await Deno.writeTextFile(`${cosign}/root.json`, "cosign's root, not ours");
  await Deno.writeTextFile(`${dir.path}/remote.json`, '{"mirror":"https://elsewhere"}');
  const before = await listFiles(dir.path);
  await fx.client({ cacheDir: dir.path }).trustedRootBytes();
  const after = await listFiles(dir.path);
  for (const [name, hash] of before) assert.equal(after.get(name), hash, name);
  const added = [...after.keys()].filter((name) => !before.has(name));
  assert.ok(
    added.length > 0 && added.every((name) => name.startsWith("dcosign/")),
    added.join(" "),
  );
});

Deno.test("damaged cache files are ignored and repaired by the next update", async () => {
  const fx = await tufFixture();
  await using dir = await tempDir();
  await fx.client({ cacheDir: dir.path }).trustedRootBytes();
  const mirrorDir = mirrorCacheDir(dir.path, MIRROR);
  await Deno.writeTextFile(`${mirrorDir}/trusted_metadata.json`, '{"fetched_at":'); // half a file
  await Deno.writeTextFile(`${mirrorDir}/root.json`, "garbage");
  await Deno.writeFile(
    `${mirrorDir}/targets/trusted_root.json`,
    new Uint8Array(TRUSTED_ROOT.length),
  );
  const client = fx.client({ cacheDir: dir.path });
  assert.deepEqual(await client.trustedRootBytes(), TRUSTED_ROOT);
  assert.deepEqual(await Deno.readFile(`${mirrorDir}/targets/trusted_root.json`), TRUSTED_ROOT);
  const offline = fx.client({ cacheDir: dir.path, offline: true });
  assert.deepEqual(await offline.trustedRootBytes(), TRUSTED_ROOT);
});

Deno.test("a cached root newer than the given root is kept: the next walk starts after it", async () => {
  const fx = await tufFixture();
  await fx.repo.rotateRoot();
  await fx.repo.rotateRoot();
  await using dir = await tempDir();
  await fx.client({ cacheDir: dir.path }).refresh();
  const mark = fx.requests.length;
  const again = await fx.client({ cacheDir: dir.path, cacheValidity: 0 }).refresh();
  assert.equal(again.root.signed.version, 3);
  assert.deepEqual(fx.requests.slice(mark).filter((p) => p.endsWith("root.json")), [
    "/tuf/4.root.json",
  ]);
});

Deno.test("initializeTuf() checks the root checksum, resets the mirror's cache, remembers the mirror and pre-fetches targets", async () => {
  const fx = await tufFixture();
  await using dir = await tempDir();
  const root = fx.repo.rootBytes(1);
  const mirrorDir = mirrorCacheDir(dir.path, MIRROR);
  await Deno.mkdir(mirrorDir, { recursive: true });
  await Deno.writeTextFile(`${mirrorDir}/stale.json`, "left by an older run");

  await assert.rejects(
    initializeTuf({
      mirror: MIRROR,
      root,
      rootChecksum: "00".repeat(32),
      cacheDir: dir.path,
      fetch: fx.fetch,
      now: fx.now,
    }),
    (e) => isCosignError(e, "TRUST_TUF_HASH_MISMATCH"),
  );
  assert.ok((await listFiles(mirrorDir)).has("stale.json"), "a refused initialize changes nothing");

  const result = await initializeTuf({
    mirror: MIRROR,
    root,
    rootChecksum: sha256(root).toUpperCase(),
    cacheDir: dir.path,
    fetch: fx.fetch,
    now: fx.now,
  });
  assert.deepEqual(result.targets, ["trusted_root.json", "signing_config.v0.2.json"]);
  assert.equal(result.cacheMode, "disk");
  assert.equal(result.rootVersion, 1);
  assert.ok(!(await listFiles(mirrorDir)).has("stale.json"));
  assert.equal(await readRememberedMirror(dir.path), MIRROR);

  // A client with no mirror and no root uses the remembered mirror and the cached root, offline.
  const client = new TufClient({ cacheDir: dir.path, offline: true, now: fx.now });
  assert.equal(await client.mirror(), MIRROR);
  assert.deepEqual(await client.trustedRootBytes(), TRUSTED_ROOT);
});

Deno.test("a cached target of several MiB (read asynchronously, past the synchronous bound) serves offline, checked", async () => {
  const fx = await tufFixture();
  const big = new Uint8Array(3 << 20).map((_, i) => i % 251);
  await fx.repo.setTargets({
    "trusted_root.json": big,
    "signing_config.v0.2.json": SIGNING_CONFIG,
  });
  await using dir = await tempDir();
  assert.deepEqual(await fx.client({ cacheDir: dir.path }).trustedRootBytes(), big);
  const mark = fx.requests.length;
  const offline = fx.client({ cacheDir: dir.path, offline: true });
  assert.deepEqual(await offline.trustedRootBytes(), big);
  assert.deepEqual(fx.requests.slice(mark), []);
  // A changed byte in the cached copy is caught by its hash: offline, nothing else can serve.
  const path = `${mirrorCacheDir(dir.path, MIRROR)}/targets/trusted_root.json`;
  const damaged = Uint8Array.from(big);
  damaged[2 << 20] = damaged[2 << 20]! ^ 1;
  await Deno.writeFile(path, damaged);
  await assert.rejects(
    fx.client({ cacheDir: dir.path, offline: true }).trustedRootBytes(),
    (e) => isCosignError(e, "TRUST_TUF_OFFLINE"),
  );
});

Deno.test("a FIFO in place of a cache file is no file: the client neither opens nor waits on it", async () => {
  const fx = await tufFixture();
  await using dir = await tempDir();
  await fx.client({ cacheDir: dir.path }).trustedRootBytes();
  const setFile = `${mirrorCacheDir(dir.path, MIRROR)}/trusted_metadata.json`;
  await Deno.remove(setFile);
  const mkfifo = await new Deno.Command("mkfifo", { args: [setFile] }).output();
  assert.equal(mkfifo.code, 0, "mkfifo");
  await assert.rejects(
    fx.client({ cacheDir: dir.path, offline: true }).trustedRootBytes(),
    (e) => isCosignError(e, "TRUST_TUF_OFFLINE") && /no verified timestamp/.test(e.message),
  );
});
