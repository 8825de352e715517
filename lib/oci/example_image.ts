/**
 * A small example image for documentation examples and the demo: one layer (a tar holding a
 * text file), an OCI config and a manifest, pushed with the library's registry client. Not part
 * of the public API.
 *
 * @module
 */

import { type Bytes, concat, sha256Digest, utf8 } from "../util/bytes.ts";
import { RegistryClient } from "./client.ts";
import { MEDIA_TYPE } from "./manifest.ts";
import { formatImageReference, parseImageReference } from "./reference.ts";

/** A ustar archive (POSIX.1-1988) of regular files, mode 0644, mtime 0. */
export function buildTar(files: readonly { name: string; data: Uint8Array }[]): Bytes {
  const parts: Uint8Array[] = [];
  for (const file of files) {
    const header = new Uint8Array(512);
    const put = (offset: number, text: string) => header.set(utf8(text), offset);
    const octal = (value: number, width: number) => value.toString(8).padStart(width - 1, "0");
    put(0, file.name);
    put(100, octal(0o644, 8));
    put(108, octal(0, 8));
    put(116, octal(0, 8));
    put(124, octal(file.data.length, 12));
    put(136, octal(0, 12));
    put(148, "        "); // checksum field counts as spaces while summing
    put(156, "0");
    put(257, "ustar\u000000");
    let sum = 0;
    for (const byte of header) sum += byte;
    put(148, `${octal(sum, 7)}\u0000 `);
    parts.push(header, file.data, new Uint8Array((512 - (file.data.length % 512)) % 512));
  }
  parts.push(new Uint8Array(1024));
  return concat(...parts);
}

/** Gzip bytes with the web CompressionStream. */
export async function gzipBytes(bytes: Uint8Array): Promise<Bytes> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
    new CompressionStream("gzip"),
  );
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/**
 * Build and push the example image to `registry/repository[:tag]`; returns its reference (by
 * tag) and digest.
 */
export async function buildExampleImage(
  client: RegistryClient,
  reference: string,
  options: { message?: string } = {},
): Promise<{ reference: string; digest: string }> {
  const ref = parseImageReference(reference);
  const tar = buildTar([{
    name: "hello.txt",
    data: utf8(`${options.message ?? "hello, dcosign"}\n`),
  }]);
  const layer = await gzipBytes(tar);
  const config = utf8(JSON.stringify({
    architecture: "amd64",
    os: "linux",
    config: { Cmd: ["cat", "/hello.txt"] },
    rootfs: { type: "layers", diff_ids: [sha256Digest(tar)] },
  }));
  await client.uploadBlob(ref, layer);
  await client.uploadBlob(ref, config);
  const manifest = utf8(JSON.stringify({
    schemaVersion: 2,
    mediaType: MEDIA_TYPE.OCI_MANIFEST,
    config: { mediaType: MEDIA_TYPE.OCI_CONFIG, size: config.length, digest: sha256Digest(config) },
    layers: [{
      mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
      size: layer.length,
      digest: sha256Digest(layer),
    }],
  }));
  const pushed = await client.putManifest(ref, manifest, MEDIA_TYPE.OCI_MANIFEST);
  return { reference: formatImageReference(ref), digest: pushed.digest };
}

/** Push the example image to `registryHost/repository:latest`; returns its reference. */
export async function pushExampleImage(registryHost: string, repository: string): Promise<string> {
  const pushed = await buildExampleImage(new RegistryClient(), `${registryHost}/${repository}`);
  return pushed.reference;
}
