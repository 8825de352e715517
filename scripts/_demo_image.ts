/**
 * A small image for the demo: one layer holding a text file, an OCI config, a manifest, pushed
 * with the library's registry client.
 *
 * @module
 */

import { sha256Digest, utf8 } from "../lib/_bytes.ts";
import type { RegistryClient } from "../lib/oci.ts";
import { MEDIA_TYPE } from "../lib/oci_manifest.ts";
import { formatImageReference, parseImageReference } from "../lib/oci_reference.ts";
import { buildTar, gzipBytes } from "../tests/registry/_oci_layout.ts";

/** Build and push the demo image; returns its reference (by tag) and digest. */
export async function buildDemoImage(
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
