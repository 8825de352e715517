/**
 * in-toto statements (cosign-spec.md section 3.1): built byte for byte as cosign writes them
 * (Go `encoding/json` for v0.1, protobuf JSON for v1) and parsed from the signed bytes, never
 * re-serialized (gotcha 1), with every count bounded first (SECURITY.md row 20: at most 1024
 * subjects and 32 digests per subject); cosign panicked on a `null` subject, this refuses it
 * with `PAYLOAD_MALFORMED`.
 *
 * @module
 */

import { type Bytes, digestLength, type HashName, utf8 } from "../util/bytes.ts";
import { encodeGoJson, GoStruct, toGoValue } from "../util/go_json.ts";
import {
  asArray,
  asNonEmptyString,
  asOptionalString,
  asRecord,
  asStrictRecord,
  asString,
  isRecord,
  type JsonRecord,
  parseJson,
} from "../util/json.ts";
import { CosignError } from "../errors.ts";
import { checkOciDigest, checkSize, isHexOfLength, malformed } from "./_checks.ts";

/** DSSE payload type of in-toto statements (section 3.3). */
export const IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json";

/** `_type` of in-toto v0.1 statements, still written by `cosign attest` (section 3.1). */
export const IN_TOTO_STATEMENT_V01 = "https://in-toto.io/Statement/v0.1";

/** `_type` of in-toto v1 statements (section 3.1). */
export const IN_TOTO_STATEMENT_V1 = "https://in-toto.io/Statement/v1";

/** Predicate type of the statement cosign v3 `sign` wraps in DSSE (section 3.1). */
export const COSIGN_SIGN_PREDICATE_TYPE = "https://sigstore.dev/cosign/sign/v1";

/** Largest statement read by default (SBOM predicates can be tens of MiB). */
export const MAX_STATEMENT_BYTES = 64 << 20;

/** Most subjects a statement may have (SECURITY.md row 20, sigstore-go's cap). */
export const MAX_SUBJECTS = 1024;

/** Most digests one subject may have (SECURITY.md row 20). */
export const MAX_SUBJECT_DIGESTS = 32;

const STATEMENT_FIELDS = ["_type", "subject", "predicateType", "predicate"] as const;

// ---------------------------------------------------------------------------------------------
// in-toto statements (section 3.1)

/** One statement subject (in-toto ResourceDescriptor, restricted to what cosign uses). */
export interface StatementSubject {
  /** Repository or file name; v1 statements may leave it out. */
  readonly name?: string;
  /** Algorithm name to hex digest. */
  readonly digest: Readonly<Record<string, string>>;
  /** v1 only: subject annotations (cosign v3 `sign` puts `-a` pairs here). */
  readonly annotations?: Readonly<Record<string, unknown>>;
}

/** A parsed in-toto statement. The predicate stays untyped JSON. */
export interface Statement {
  /** `_type`: `IN_TOTO_STATEMENT_V01` or `IN_TOTO_STATEMENT_V1`. */
  readonly type: string;
  /** The subjects, at most `MAX_SUBJECTS`. */
  readonly subject: readonly StatementSubject[];
  /** The predicate type URI. */
  readonly predicateType: string;
  /** The predicate; `undefined` when absent (cosign v3 `sign` omits it). */
  readonly predicate?: unknown;
}

/** Input of `buildStatement`. */
export interface StatementInput {
  /** At least one subject. */
  readonly subjects: readonly StatementSubject[];
  /** The predicate type URI (see `predicateTypeFor`). */
  readonly predicateType: string;
  /** Any JSON for v0.1; an object (or absent) for v1, whose predicate is a protobuf Struct. */
  readonly predicate?: unknown;
  /** `"v0.1"` as `cosign attest` writes, `"v1"` as `cosign sign` (v3) and `--statement` do. */
  readonly version: "v0.1" | "v1";
}

/**
 * Statement bytes as cosign writes them. v0.1 (`attest`, `attest-blob`): Go `encoding/json` of
 * in-toto-golang's struct, `_type, predicateType, subject[{name, digest}], predicate`. v1:
 * protobuf field order `_type, subject[{name?, digest, annotations?}], predicateType,
 * predicate?`. Maps (digests, annotations, JSON-object predicates) are written with sorted keys.
 */
export function buildStatement(input: StatementInput): Bytes {
  if (input.subjects.length === 0) throw new RangeError("A statement needs at least one subject");
  if (input.predicateType === "") throw new RangeError("A statement needs a predicate type");
  const predicate = input.predicate === undefined ? undefined : toGoValue(input.predicate);
  if (input.version === "v0.1") {
    const subjects = input.subjects.map((subject) => {
      if (subject.annotations !== undefined) {
        throw new TypeError("in-toto v0.1 subjects have no annotations");
      }
      return new GoStruct([["name", subject.name ?? ""], ["digest", { ...subject.digest }]]);
    });
    return utf8(encodeGoJson(
      new GoStruct([
        ["_type", IN_TOTO_STATEMENT_V01],
        ["predicateType", input.predicateType],
        ["subject", subjects],
        ["predicate", predicate ?? null],
      ]),
    ));
  }
  if (predicate !== undefined && !isRecord(predicate)) {
    throw new TypeError("An in-toto v1 predicate must be a JSON object");
  }
  const subjects = input.subjects.map((subject) =>
    new GoStruct([
      ["name", subject.name === "" ? undefined : subject.name],
      ["digest", { ...subject.digest }],
      ["annotations", subject.annotations ? toGoValue(subject.annotations) : undefined],
    ])
  );
  return utf8(encodeGoJson(
    new GoStruct([
      ["_type", IN_TOTO_STATEMENT_V1],
      ["subject", subjects],
      ["predicateType", input.predicateType],
      ["predicate", predicate],
    ]),
    { style: "protojson" },
  ));
}

/**
 * The in-toto v1 statement cosign v3 `sign` signs for an image (section 3.1): one subject with
 * the manifest digest and the `-a` annotations (always present, maybe `{}`), predicate type
 * `https://sigstore.dev/cosign/sign/v1`, and no predicate field (what cosign v3.0 writes, checked
 * against sigstore-rs's bundle_v03.json).
 */
export function buildCosignSignStatement(
  input: { readonly digest: string; readonly annotations?: Readonly<Record<string, string>> },
): Bytes {
  checkOciDigest(input.digest);
  const colon = input.digest.indexOf(":");
  return buildStatement({
    version: "v1",
    subjects: [{
      digest: { [input.digest.slice(0, colon)]: input.digest.slice(colon + 1) },
      annotations: { ...input.annotations },
    }],
    predicateType: COSIGN_SIGN_PREDICATE_TYPE,
  });
}

/**
 * Parse an in-toto statement (v0.1 or v1) from the signed payload bytes. Counts are bounded
 * before the subjects are walked; a `null` subject, a non-string digest or a missing
 * predicate type raises `PAYLOAD_MALFORMED`, oversized input `PAYLOAD_TOO_LARGE`.
 */
export function parseStatement(
  bytes: Uint8Array,
  options: { maxBytes?: number } = {},
): Statement {
  checkSize(bytes, options.maxBytes ?? MAX_STATEMENT_BYTES, "in-toto statement");
  let root: JsonRecord;
  try {
    root = asStrictRecord(parseJson(bytes, "in-toto statement"), "statement", STATEMENT_FIELDS);
  } catch (error) {
    throw malformed(`Invalid in-toto statement: ${(error as Error).message}`, error);
  }
  if (Array.isArray(root.subject) && root.subject.length > MAX_SUBJECTS) {
    throw new CosignError(
      "PAYLOAD_TOO_LARGE",
      `Invalid in-toto statement: ${root.subject.length} subjects exceed the limit of ${MAX_SUBJECTS}`,
    );
  }
  try {
    const type = asString(root._type, "_type");
    if (type !== IN_TOTO_STATEMENT_V01 && type !== IN_TOTO_STATEMENT_V1) {
      throw new SyntaxError(`_type: unknown statement type "${type}"`);
    }
    const subject = asArray(root.subject, "subject", MAX_SUBJECTS).map((item, i) =>
      readSubject(item, `subject[${i}]`)
    );
    const predicateType = asNonEmptyString(root.predicateType, "predicateType");
    const statement: Statement = { type, subject, predicateType };
    return root.predicate === undefined ? statement : { ...statement, predicate: root.predicate };
  } catch (error) {
    if (error instanceof CosignError) throw error;
    throw malformed(`Invalid in-toto statement: ${(error as Error).message}`, error);
  }
}

function readSubject(value: unknown, path: string): StatementSubject {
  const record = asStrictRecord(value, path, ["name", "digest", "annotations"]);
  const digestRecord = asRecord(record.digest, `${path}.digest`);
  const algorithms = Object.keys(digestRecord);
  if (algorithms.length > MAX_SUBJECT_DIGESTS) {
    throw new CosignError(
      "PAYLOAD_TOO_LARGE",
      `Invalid in-toto statement: ${path}.digest has ${algorithms.length} digests, more than ${MAX_SUBJECT_DIGESTS}`,
    );
  }
  const digest: Record<string, string> = {};
  for (const algorithm of algorithms) {
    digest[algorithm] = asString(digestRecord[algorithm], `${path}.digest.${algorithm}`);
  }
  const name = asOptionalString(record.name, `${path}.name`);
  const annotations = record.annotations === undefined || record.annotations === null
    ? undefined
    : asRecord(record.annotations, `${path}.annotations`);
  return {
    ...(name === undefined ? {} : { name }),
    digest,
    ...(annotations === undefined ? {} : { annotations }),
  };
}

/**
 * The subject that carries `hexDigest` under `algorithm` (hex compared case-blind), or undefined.
 * An empty subject list or a subject without that algorithm never matches (SECURITY.md rule 2).
 * The one "a statement names this digest" check: verification, claims and `attach` use it.
 */
export function findSubject(
  statement: Statement,
  algorithm: HashName,
  hexDigest: string,
): StatementSubject | undefined {
  if (!isHexOfLength(hexDigest.toLowerCase(), digestLength(algorithm))) {
    throw new RangeError(`Invalid ${algorithm} digest "${hexDigest}"`);
  }
  const wanted = hexDigest.toLowerCase();
  return statement.subject.find((subject) =>
    Object.hasOwn(subject.digest, algorithm) && subject.digest[algorithm]!.toLowerCase() === wanted
  );
}
