/**
 * The SimpleSigning payload of legacy image signatures (cosign-spec.md section 2): the JSON
 * `cosign sign` signs for an image digest, written byte for byte as Go `encoding/json` writes it
 * (the signature covers those bytes) and read without re-serializing (gotcha 1), bounded and
 * refusing malformed input with `PAYLOAD_*` codes rather than crashing.
 *
 * @module
 */

import { type Bytes, utf8 } from "../util/bytes.ts";
import { encodeGoJson, GoStruct } from "../util/go_json.ts";
import {
  asNonEmptyString,
  asOptionalString,
  asRecord,
  asStrictRecord,
  parseJson,
} from "../util/json.ts";
import { CosignError } from "../errors.ts";
import { checkOciDigest, checkSize, malformed, OCI_DIGEST } from "./_checks.ts";

/** Error codes raised by payload and statement handling. */
export type PayloadErrorCode =
  | "PAYLOAD_MALFORMED"
  | "PAYLOAD_TOO_LARGE"
  | "PAYLOAD_UNKNOWN_TYPE"
  | "PAYLOAD_INVALID_PREDICATE";

/** Layer media type of a SimpleSigning payload (section 1.3). */
export const SIMPLE_SIGNING_MEDIA_TYPE = "application/vnd.dev.cosign.simplesigning.v1+json";

/** `critical.type` of a cosign SimpleSigning payload (section 2). */
export const SIMPLE_SIGNING_TYPE = "cosign container image signature";

/** Largest SimpleSigning payload read (cosign's are ~250 bytes plus annotations). */
export const MAX_SIMPLE_SIGNING_BYTES = 1 << 20;

// ---------------------------------------------------------------------------------------------
// SimpleSigning (section 2)

/** A decoded SimpleSigning payload. */
export interface SimpleSigningPayload {
  /** `critical.identity.docker-reference`; verifiers ignore it (gotcha 9). */
  readonly dockerReference: string;
  /** `critical.image.docker-manifest-digest`: the only claim verifiers check. */
  readonly digest: string;
  /** `critical.type`: always `SIMPLE_SIGNING_TYPE` (anything else is refused). */
  readonly type: typeof SIMPLE_SIGNING_TYPE;
  /** `optional`: `null`, or the `-a key=value` annotations (values may be any JSON). */
  readonly optional: Readonly<Record<string, unknown>> | null;
}

/** Input of `encodeSimpleSigningPayload`. */
export interface SimpleSigningInput {
  /** Repository with registry, no tag or digest (normalise Docker Hub before calling). */
  readonly dockerReference: string;
  /** The image manifest digest, `sha256:<hex>`. */
  readonly digest: string;
  /** `-a key=value` pairs; absent or empty writes `"optional":null`, as cosign does. */
  readonly annotations?: Readonly<Record<string, string>>;
}

/**
 * The SimpleSigning payload bytes exactly as cosign writes them: Go `encoding/json` of
 * `{critical:{identity,image,type},optional}`, compact, annotation keys sorted.
 *
 * @example
 * ```ts
 * const payload = encodeSimpleSigningPayload({
 *   dockerReference: "ghcr.io/o/app",
 *   digest: "sha256:" + "ab".repeat(32),
 * });
 * ```
 */
export function encodeSimpleSigningPayload(input: SimpleSigningInput): Bytes {
  checkOciDigest(input.digest);
  const annotations = input.annotations;
  // cosign leaves the map nil unless -a was given; an empty map is therefore written as null
  const optional = annotations && Object.keys(annotations).length > 0 ? { ...annotations } : null;
  const value = new GoStruct([
    [
      "critical",
      new GoStruct([
        ["identity", new GoStruct([["docker-reference", input.dockerReference]])],
        ["image", new GoStruct([["docker-manifest-digest", input.digest]])],
        ["type", SIMPLE_SIGNING_TYPE],
      ]),
    ],
    ["optional", optional],
  ]);
  return utf8(encodeGoJson(value));
}

/**
 * Decode a SimpleSigning payload; malformed or oversized input raises `PAYLOAD_*`. A
 * `critical.type` other than `SIMPLE_SIGNING_TYPE` (missing included) is `PAYLOAD_UNKNOWN_TYPE`:
 * sigstore/sigstore's `SimpleContainerImage` and containers/image refuse it too, so a payload
 * of another type is not a cosign signature, whatever it names.
 */
export function decodeSimpleSigningPayload(
  bytes: Uint8Array,
  options: { maxBytes?: number } = {},
): SimpleSigningPayload {
  checkSize(bytes, options.maxBytes ?? MAX_SIMPLE_SIGNING_BYTES, "SimpleSigning payload");
  try {
    const root = asStrictRecord(parseJson(bytes, "SimpleSigning payload"), "payload", [
      "critical",
      "optional",
    ]);
    const critical = asStrictRecord(root.critical, "critical", ["identity", "image", "type"]);
    const image = asStrictRecord(critical.image, "critical.image", ["docker-manifest-digest"]);
    const digest = asNonEmptyString(
      image["docker-manifest-digest"],
      "critical.image.docker-manifest-digest",
    );
    if (!OCI_DIGEST.test(digest)) {
      throw new SyntaxError("critical.image.docker-manifest-digest: not an OCI digest");
    }
    // Go decodes a missing identity as ""; keep that leniency, but never a wrong type
    const identity = critical.identity === undefined || critical.identity === null
      ? {}
      : asStrictRecord(critical.identity, "critical.identity", ["docker-reference"]);
    const dockerReference =
      asOptionalString(identity["docker-reference"], "critical.identity.docker-reference") ?? "";
    const type = asOptionalString(critical.type, "critical.type");
    const optional = root.optional === undefined || root.optional === null
      ? null
      : asRecord(root.optional, "optional");
    if (type !== SIMPLE_SIGNING_TYPE) {
      throw new CosignError(
        "PAYLOAD_UNKNOWN_TYPE",
        `Invalid SimpleSigning payload: critical.type is ${
          type === undefined ? "missing" : `"${type.slice(0, 100)}"`
        }, expected "${SIMPLE_SIGNING_TYPE}"`,
      );
    }
    return { dockerReference, digest, type, optional };
  } catch (error) {
    if (error instanceof CosignError) throw error;
    throw malformed(`Invalid SimpleSigning payload: ${(error as Error).message}`, error);
  }
}
