/**
 * Test images: small OCI image layouts (image-spec image-layout.md) built from random bytes,
 * single-arch or multi-arch (an index of two platform manifests), plus three ways to push them:
 * `skopeo copy oci:DIR docker://HOST/REPO:TAG`, and a small fetch client for any registry URL
 * (or an in-process app). Also reads manifests back, for digest comparisons.
 *
 * @module
 */

import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { type Bytes, sha256Digest, utf8 } from "../../lib/util/bytes.ts";
import { buildTar, gzipBytes } from "../../lib/oci/example_image.ts";

export { buildTar, gzipBytes };

/** OCI media types used by the layouts. */
export const MEDIA = {
  manifest: "application/vnd.oci.image.manifest.v1+json",
  index: "application/vnd.oci.image.index.v1+json",
  config: "application/vnd.oci.image.config.v1+json",
  layer: "application/vnd.oci.image.layer.v1.tar",
  layerGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
} as const;

/** A piece of content with its descriptor fields. */
export interface Content {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly bytes: Bytes;
}

/** One platform image of a layout. */
export interface LayoutImage {
  readonly platform: { readonly architecture: string; readonly os: string };
  readonly manifest: Content;
  readonly config: Content;
  readonly layers: readonly Content[];
}

/** A layout written to disk. */
export interface OciLayout {
  readonly dir: string;
  readonly tag: string;
  /** What the tag points at: the index (multi-arch) or the only manifest. */
  readonly top: Content;
  readonly images: readonly LayoutImage[];
  /** Config and layer blobs, by digest. */
  readonly blobs: ReadonlyMap<string, Content>;
}

/** Options of `writeOciLayout`. */
export interface OciLayoutOptions {
  /** An index of two platform images (linux/amd64, linux/arm64) instead of one image. */
  readonly multiArch?: boolean;
  /** Gzip the layers (default true: registries and skopeo keep them as they are). */
  readonly gzip?: boolean;
  /** The tag recorded in index.json (`org.opencontainers.image.ref.name`); default "v1". */
  readonly tag?: string;
  /** Size of each random file in a layer (default 2 KiB). */
  readonly fileSize?: number;
}

/** `oci:DIR:TAG`, the skopeo source of a layout. */
export function layoutReference(layout: OciLayout): string {
  return `oci:${layout.dir}:${layout.tag}`;
}

/** Write a fresh layout with random content into `dir` (created if missing). */
export async function writeOciLayout(
  dir: string,
  options: OciLayoutOptions = {},
): Promise<OciLayout> {
  const tag = options.tag ?? "v1";
  const gzip = options.gzip ?? true;
  const platforms = options.multiArch
    ? [{ architecture: "amd64", os: "linux" }, { architecture: "arm64", os: "linux" }]
    : [{ architecture: "amd64", os: "linux" }];
  const blobs = new Map<string, Content>();
  const images: LayoutImage[] = [];
  for (const platform of platforms) {
    const tar = buildTar([
      { name: "hello.txt", data: utf8(`hello from ${platform.architecture}\n`) },
      { name: "random.bin", data: new Uint8Array(randomBytes(options.fileSize ?? 2048)) },
    ]);
    const layerBytes = gzip ? await gzipBytes(tar) : tar;
    const layer = content(gzip ? MEDIA.layerGzip : MEDIA.layer, layerBytes);
    const config = content(
      MEDIA.config,
      utf8(JSON.stringify({
        architecture: platform.architecture,
        os: platform.os,
        rootfs: { type: "layers", diff_ids: [sha256Digest(tar)] },
        config: {},
      })),
    );
    const manifest = content(
      MEDIA.manifest,
      utf8(JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA.manifest,
        config: descriptor(config),
        layers: [descriptor(layer)],
      })),
    );
    for (const c of [config, layer]) blobs.set(c.digest, c);
    images.push({ platform, manifest, config, layers: [layer] });
  }
  const top = options.multiArch
    ? content(
      MEDIA.index,
      utf8(JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA.index,
        manifests: images.map((i) => ({ ...descriptor(i.manifest), platform: i.platform })),
      })),
    )
    : images[0]!.manifest;

  await Deno.mkdir(join(dir, "blobs", "sha256"), { recursive: true });
  const all = [...blobs.values(), ...images.map((i) => i.manifest)];
  if (options.multiArch) all.push(top);
  for (const c of all) {
    await Deno.writeFile(join(dir, "blobs", "sha256", c.digest.slice("sha256:".length)), c.bytes);
  }
  await Deno.writeTextFile(
    join(dir, "oci-layout"),
    JSON.stringify({ imageLayoutVersion: "1.0.0" }),
  );
  await Deno.writeTextFile(
    join(dir, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{
        ...descriptor(top),
        annotations: { "org.opencontainers.image.ref.name": tag },
      }],
    }),
  );
  return { dir, tag, top, images, blobs };
}

/** Descriptor fields of content. */
export function descriptor(c: Content): { mediaType: string; digest: string; size: number } {
  return { mediaType: c.mediaType, digest: c.digest, size: c.size };
}

/** Content with its digest and size. */
export function content(mediaType: string, bytes: Bytes): Content {
  return { mediaType, bytes, digest: sha256Digest(bytes), size: bytes.length };
}

// ---- skopeo ------------------------------------------------------------------------------

/** The outcome of a skopeo run. */
export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Run skopeo with `--insecure-policy` (tests must not depend on the machine's policy.json)
 * and a private registries/auth environment.
 */
export async function skopeo(args: string[]): Promise<CommandResult> {
  const home = await Deno.makeTempDir({ prefix: "dcosign-skopeo-home-" });
  try {
    const output = await new Deno.Command("skopeo", {
      args: ["--insecure-policy", ...args],
      env: { HOME: home, XDG_RUNTIME_DIR: home, REGISTRY_AUTH_FILE: join(home, "auth.json") },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const decoder = new TextDecoder();
    return {
      code: output.code,
      stdout: decoder.decode(output.stdout),
      stderr: decoder.decode(output.stderr),
    };
  } finally {
    await Deno.remove(home, { recursive: true }).catch(() => {});
  }
}

/** Options of `skopeoCopy`. */
export interface SkopeoCopyOptions {
  /** Copy every image of an index (`--all`). */
  readonly all?: boolean;
  /** `--preserve-digests`: fail rather than rewrite a manifest. */
  readonly preserveDigests?: boolean;
  readonly srcCreds?: string;
  readonly destCreds?: string;
}

/** `skopeo copy` over plain HTTP; throws with skopeo's stderr when it fails. */
export async function skopeoCopy(
  source: string,
  destination: string,
  options: SkopeoCopyOptions = {},
): Promise<void> {
  const args = ["copy", "--src-tls-verify=false", "--dest-tls-verify=false", "--retry-times=0"];
  if (options.all) args.push("--all");
  if (options.preserveDigests) args.push("--preserve-digests");
  if (options.srcCreds !== undefined) args.push("--src-creds", options.srcCreds);
  if (options.destCreds !== undefined) args.push("--dest-creds", options.destCreds);
  const result = await skopeo([...args, source, destination]);
  if (result.code !== 0) {
    throw new Error(
      `skopeo copy ${source} ${destination} failed (${result.code}): ${result.stderr}`,
    );
  }
}

/** Push a layout with skopeo to `host/repo:tag` (every platform, digests preserved). */
export async function pushLayoutWithSkopeo(
  layout: OciLayout,
  registryHost: string,
  repository: string,
  options: { readonly tag?: string; readonly creds?: string } = {},
): Promise<void> {
  await skopeoCopy(
    layoutReference(layout),
    `docker://${registryHost}/${repository}:${options.tag ?? layout.tag}`,
    {
      all: true,
      preserveDigests: true,
      ...(options.creds === undefined ? {} : { destCreds: options.creds }),
    },
  );
}

// ---- a small registry client over fetch ----------------------------------------------------

/** A fetch function (global fetch, or an in-process app). */
export type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** Options of the fetch client. */
export interface ClientOptions {
  readonly fetch?: FetchLike;
  /** Extra headers on every request (e.g. Authorization). */
  readonly headers?: Record<string, string>;
  /** Upload blobs in PATCH chunks of this size instead of one POST. */
  readonly chunkSize?: number;
}

/** Push one blob: monolithic `POST ?digest=`, or POST + PATCH chunks + PUT when chunked. */
export async function pushBlob(
  baseUrl: string,
  repository: string,
  blob: Content,
  options: ClientOptions = {},
): Promise<void> {
  const fetchFn = options.fetch ?? fetch;
  const headers = options.headers ?? {};
  const uploads = `${baseUrl}/v2/${repository}/blobs/uploads/`;
  if (options.chunkSize === undefined) {
    const res = await fetchFn(`${uploads}?digest=${blob.digest}`, {
      method: "POST",
      headers: { ...headers, "Content-Type": "application/octet-stream" },
      body: blob.bytes,
    });
    await expectStatus(res, 201, `POST blob ${blob.digest}`);
    return;
  }
  const start = await fetchFn(uploads, { method: "POST", headers });
  await expectStatus(start, 202, "POST upload");
  let location = new URL(start.headers.get("location") ?? "", baseUrl);
  for (let offset = 0; offset < blob.size; offset += options.chunkSize) {
    const chunk = blob.bytes.subarray(offset, Math.min(offset + options.chunkSize, blob.size));
    const res = await fetchFn(location, {
      method: "PATCH",
      headers: {
        ...headers,
        "Content-Type": "application/octet-stream",
        "Content-Range": `${offset}-${offset + chunk.length - 1}`,
      },
      body: chunk,
    });
    await expectStatus(res, 202, `PATCH chunk at ${offset}`);
    location = new URL(res.headers.get("location") ?? "", baseUrl);
  }
  location.searchParams.set("digest", blob.digest);
  const done = await fetchFn(location, { method: "PUT", headers });
  await expectStatus(done, 201, `PUT upload ${blob.digest}`);
}

/** PUT a manifest by tag or digest; returns the Docker-Content-Digest answered. */
export async function pushManifest(
  baseUrl: string,
  repository: string,
  reference: string,
  manifest: Content,
  options: ClientOptions = {},
): Promise<string> {
  const res = await (options.fetch ?? fetch)(
    `${baseUrl}/v2/${repository}/manifests/${reference}`,
    {
      method: "PUT",
      headers: { ...options.headers, "Content-Type": manifest.mediaType },
      body: manifest.bytes,
    },
  );
  await expectStatus(res, 201, `PUT manifest ${reference}`);
  return res.headers.get("docker-content-digest") ?? "";
}

/** Push a whole layout (blobs, platform manifests, then the tagged top manifest). */
export async function pushLayout(
  layout: OciLayout,
  baseUrl: string,
  repository: string,
  options: ClientOptions & { readonly tag?: string } = {},
): Promise<string> {
  for (const blob of layout.blobs.values()) await pushBlob(baseUrl, repository, blob, options);
  if (layout.top.mediaType === MEDIA.index) {
    for (const image of layout.images) {
      await pushManifest(baseUrl, repository, image.manifest.digest, image.manifest, options);
    }
  }
  return await pushManifest(baseUrl, repository, options.tag ?? layout.tag, layout.top, options);
}

/** GET a manifest with every OCI/Docker type accepted; returns its bytes and headers. */
export async function fetchManifest(
  baseUrl: string,
  repository: string,
  reference: string,
  options: ClientOptions = {},
): Promise<{ bytes: Bytes; digest: string; mediaType: string }> {
  const res = await (options.fetch ?? fetch)(
    `${baseUrl}/v2/${repository}/manifests/${reference}`,
    {
      headers: {
        ...options.headers,
        Accept: [
          MEDIA.manifest,
          MEDIA.index,
          "application/vnd.docker.distribution.manifest.v2+json",
          "application/vnd.docker.distribution.manifest.list.v2+json",
        ].join(", "),
      },
    },
  );
  if (res.status !== 200) await expectStatus(res, 200, `GET manifest ${reference}`);
  return {
    bytes: new Uint8Array(await res.arrayBuffer()),
    digest: res.headers.get("docker-content-digest") ?? "",
    mediaType: res.headers.get("content-type") ?? "",
  };
}

/** GET a blob's bytes. */
export async function fetchBlob(
  baseUrl: string,
  repository: string,
  digest: string,
  options: ClientOptions = {},
): Promise<Bytes> {
  const res = await (options.fetch ?? fetch)(`${baseUrl}/v2/${repository}/blobs/${digest}`, {
    headers: options.headers ?? {},
  });
  if (res.status !== 200) await expectStatus(res, 200, `GET blob ${digest}`);
  return new Uint8Array(await res.arrayBuffer());
}

async function expectStatus(res: Response, status: number, what: string): Promise<void> {
  const text = await res.text();
  if (res.status !== status) {
    throw new Error(`${what}: HTTP ${res.status}, expected ${status}: ${text}`);
  }
}
