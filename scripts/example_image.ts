/**
 * `deno run -A scripts/example_image.ts REGISTRY/REPOSITORY[:TAG]`: push the demo's small example
 * image (one layer holding `hello.txt`, an OCI config and manifest) to a registry and print its
 * reference and digest, so the README's first steps need nothing but Node and npm. Any other way
 * of pushing an image works as well (skopeo, docker, crane ...).
 *
 * @module
 */

import { buildExampleImage } from "../lib/oci/example_image.ts";
import { RegistryClient } from "../lib/oci/client.ts";
import { errorMessage } from "../lib/errors.ts";

const [reference, ...rest] = Deno.args;
if (reference === undefined || rest.length > 0 || reference.startsWith("-")) {
  console.error("Usage: deno run -A scripts/example_image.ts REGISTRY/REPOSITORY[:TAG]");
  Deno.exit(2);
}
try {
  const pushed = await buildExampleImage(new RegistryClient(), reference);
  console.log(`Pushed ${pushed.reference} (${pushed.digest})`);
} catch (error) {
  console.error(`Cannot push the example image to "${reference}": ${errorMessage(error)}`);
  Deno.exit(1);
}
