/**
 * Image globs as policy-controller reads them (`pkg/apis/glob/glob.go`): `*` is any run of
 * characters other than `/`, `**` any run at all, every other character stands for itself, and
 * the glob must match the whole image name. The name matched is the fully qualified reference
 * (`index.docker.io/library/busybox:latest`, `ghcr.io/org/app@sha256:...`); when that fails
 * and the image was written shorter, the text as written is tried too (policy-controller keeps
 * that fallback for compatibility). `*` and `*\/*` alone mean Docker Hub's `library/*` and `*\/*`.
 *
 * @module
 */

import { formatImageReference, parseImageReference } from "../oci/reference.ts";

/** The characters a glob may hold (policy-controller's `validGlob`). */
const VALID_GLOB = /^[a-zA-Z0-9\-_:/*.@]+$/;
/** Longest glob accepted: an image name is at most 255 characters plus tag and digest. */
const MAX_GLOB_LENGTH = 512;

/**
 * The whole-name regular expression of a glob; a glob with other characters than letters,
 * digits and `-_:/*.@` is a `SyntaxError`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { compileImageGlob } from "./glob.ts";
 *
 * const re = compileImageGlob("ghcr.io/org/*");
 * assert.ok(re.test("ghcr.io/org/app:1.0"));
 * assert.ok(!re.test("ghcr.io/org/team/app:1.0")); // * stops at "/"
 * assert.ok(compileImageGlob("ghcr.io/org/**").test("ghcr.io/org/team/app:1.0"));
 * ```
 */
export function compileImageGlob(glob: string): RegExp {
  let pattern = glob;
  if (pattern === "*/*") pattern = "index.docker.io/*/*";
  if (pattern === "*") pattern = "index.docker.io/library/*";
  if (pattern.length > MAX_GLOB_LENGTH || !VALID_GLOB.test(pattern)) {
    throw new SyntaxError(`invalid glob "${glob.slice(0, 80)}"`);
  }
  let source = "^";
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i]!;
    if (char === "*") {
      if (pattern[i + 1] === "*") {
        source += ".*";
        i++;
      } else {
        source += "[^/]*";
      }
    } else if (char === ".") {
      source += "\\.";
    } else {
      // The remaining glob characters (letters, digits, - _ : / @) are literal in a RegExp.
      source += char;
    }
  }
  return new RegExp(`${source}$`);
}

/**
 * Whether `image` (as written in a workload) matches `glob`: its fully qualified name first,
 * then, if it was written shorter, the text itself. An unparseable image or glob throws.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { matchImageGlob } from "./glob.ts";
 *
 * assert.ok(matchImageGlob("index.docker.io/library/*", "busybox"));
 * assert.ok(matchImageGlob("*", "busybox")); // "*" means Docker Hub's library images
 * assert.ok(!matchImageGlob("*", "ghcr.io/busybox"));
 * assert.ok(matchImageGlob("**demo**", "registry.local:5000/policy-controller/demo:v1"));
 * ```
 */
export function matchImageGlob(glob: string, image: string): boolean {
  const re = compileImageGlob(glob);
  const name = formatImageReference(parseImageReference(image));
  if (re.test(name)) return true;
  return name !== image && re.test(image);
}
