/**
 * `--type` short names and the predicates cosign builds from a predicate file (cosign-spec.md
 * section 3.2; cosign `pkg/cosign/attestation` and `options/predicate.go`). Re-exported by
 * `lib/payload/simple_signing.ts`.
 *
 * The same table maps `verify-attestation --type`, so an unknown short name is an error, never a
 * silent pass (SECURITY.md rows 2 and 9).
 *
 * @module
 */

import { GoStruct, type GoValue, toGoValue } from "../util/go_json.ts";
import { isRecord, type JsonRecord, parseJson } from "../util/json.ts";
import { CosignError } from "../errors.ts";

/** Predicate type of `--type custom` (the default): cosign's wrapper of arbitrary data. */
export const CUSTOM_PREDICATE_TYPE = "https://cosign.sigstore.dev/attestation/v1";

/** `--type` short names and their predicate type URIs (section 3.2). */
export const PREDICATE_TYPES: Readonly<Record<string, string>> = Object.freeze({
  custom: CUSTOM_PREDICATE_TYPE,
  slsaprovenance: "https://slsa.dev/provenance/v0.2",
  slsaprovenance02: "https://slsa.dev/provenance/v0.2",
  slsaprovenance1: "https://slsa.dev/provenance/v1",
  link: "https://in-toto.io/Link/v1",
  spdx: "https://spdx.dev/Document",
  spdxjson: "https://spdx.dev/Document",
  cyclonedx: "https://cyclonedx.org/bom",
  vuln: "https://cosign.sigstore.dev/attestation/vuln/v1",
  openvex: "https://openvex.dev/ns",
});

/**
 * Fields a predicate file must have, per short name: the JSON tags without `omitempty` of the
 * in-toto-golang structs cosign checks with `checkRequiredJSONFields`.
 */
const REQUIRED_FIELDS: Readonly<Record<string, readonly string[]>> = {
  slsaprovenance: ["builder", "buildType"],
  slsaprovenance02: ["builder", "buildType"],
  slsaprovenance1: ["buildDefinition", "runDetails"],
  link: ["_type", "name", "materials", "products", "byproducts", "command", "environment"],
};

/**
 * The predicate type URI of a `--type` value: a short name from the table, or any URI given
 * as is (cosign accepts what Go's `url.ParseRequestURI` accepts: an absolute URI or a path).
 * Anything else raises `PAYLOAD_UNKNOWN_TYPE`.
 *
 * @example
 * ```ts
 * predicateTypeFor("slsaprovenance"); // "https://slsa.dev/provenance/v0.2"
 * ```
 */
export function predicateTypeFor(typeFlag: string): string {
  if (Object.hasOwn(PREDICATE_TYPES, typeFlag)) return PREDICATE_TYPES[typeFlag]!;
  if (isRequestUri(typeFlag)) return typeFlag;
  throw new CosignError("PAYLOAD_UNKNOWN_TYPE", `Unknown predicate type "${typeFlag}"`);
}

function isRequestUri(text: string): boolean {
  if (text.startsWith("/")) return !/\s/.test(text);
  return /^[A-Za-z][A-Za-z0-9+.-]*:\S+$/.test(text) && URL.canParse(text);
}

/** A predicate ready for `buildStatement`, with its type. */
export interface BuiltPredicate {
  /** The predicate type URI `--type` maps to. */
  readonly predicateType: string;
  /**
   * The predicate value, for `buildStatement`: JSON data, with cosign's struct field order kept
   * where cosign writes a Go struct (`custom`, `vuln`).
   */
  readonly predicate: unknown;
}

/**
 * Build the predicate of `cosign attest --type typeFlag --predicate FILE` from the file bytes:
 * `custom` wraps the text as `{"Data","Timestamp"}` (RFC 3339 UTC seconds of `now`); `spdx`
 * embeds the raw text as a JSON string; `vuln` is reshaped into cosign's vulnerability-scan
 * struct; every other type needs a JSON object, with the fields cosign requires for
 * `slsaprovenance*` and `link`. Failures raise `PAYLOAD_INVALID_PREDICATE` naming the reason.
 */
export function buildPredicate(typeFlag: string, file: Uint8Array, now: Date): BuiltPredicate {
  const predicateType = predicateTypeFor(typeFlag);
  if (predicateType === CUSTOM_PREDICATE_TYPE) {
    return {
      predicateType,
      predicate: new GoStruct([["Data", decodeText(file)], ["Timestamp", formatRfc3339(now)]]),
    };
  }
  if (typeFlag === "spdx") return { predicateType, predicate: decodeText(file) };
  const object = parsePredicateObject(file, typeFlag);
  for (const field of REQUIRED_FIELDS[typeFlag] ?? []) {
    if (!Object.hasOwn(object, field)) {
      throw invalid(typeFlag, `required field "${field}" missing`);
    }
  }
  if (typeFlag === "vuln") return { predicateType, predicate: reshapeVuln(object) };
  return { predicateType, predicate: toGoValue(object) };
}

function invalid(typeFlag: string, reason: string, cause?: unknown): CosignError {
  return new CosignError(
    "PAYLOAD_INVALID_PREDICATE",
    `Invalid predicate for type "${typeFlag}": ${reason}`,
    { cause },
  );
}

function decodeText(file: Uint8Array): string {
  // Go's string(bytes) keeps invalid UTF-8 and json.Marshal writes it as the escape `\ufffd`;
  // we get a literal U+FFFD instead: the same text, other bytes (only for non-UTF-8 files)
  return new TextDecoder().decode(file);
}

function parsePredicateObject(file: Uint8Array, typeFlag: string): JsonRecord {
  let value: unknown;
  try {
    value = parseJson(file, "predicate file");
  } catch (error) {
    throw invalid(typeFlag, (error as Error).message, error);
  }
  if (!isRecord(value)) throw invalid(typeFlag, "the predicate must be a JSON object");
  return value;
}

/** RFC 3339 in UTC to the second, Go's `time.RFC3339` of `now.UTC()`. */
function formatRfc3339(now: Date): string {
  if (Number.isNaN(now.getTime())) throw new RangeError("Invalid date for the predicate timestamp");
  return now.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** Go's zero `time.Time` as JSON. */
const ZERO_TIME = "0001-01-01T00:00:00Z";

/**
 * cosign decodes a `vuln` predicate into `CosignVulnPredicate` and writes that struct back:
 * unknown fields go, missing ones become zero values, and a wrongly typed field is an error
 * (Go's `json.Unmarshal`).
 */
function reshapeVuln(object: JsonRecord): GoStruct {
  const field = (record: JsonRecord, key: string, path: string): JsonRecord => {
    const value = record[key];
    if (value === undefined || value === null) return {};
    if (!isRecord(value)) throw invalid("vuln", `${path}: expected an object`);
    return value;
  };
  const text = (record: JsonRecord, key: string, path: string): string => {
    const value = record[key];
    if (value === undefined || value === null) return "";
    if (typeof value !== "string") throw invalid("vuln", `${path}: expected a string`);
    return value;
  };
  const time = (record: JsonRecord, key: string, path: string): string => {
    const value = record[key];
    if (value === undefined || value === null) return ZERO_TIME;
    if (typeof value !== "string") throw invalid("vuln", `${path}: expected a time string`);
    return normalizeGoTime(value, path);
  };
  const anything = (record: JsonRecord, key: string): GoValue =>
    record[key] === undefined ? null : toGoValue(record[key]);

  const invocation = field(object, "invocation", "invocation");
  const scanner = field(object, "scanner", "scanner");
  const db = field(scanner, "db", "scanner.db");
  const metadata = field(object, "metadata", "metadata");
  return new GoStruct([
    [
      "invocation",
      new GoStruct([
        ["parameters", anything(invocation, "parameters")],
        ["uri", text(invocation, "uri", "invocation.uri")],
        ["event_id", text(invocation, "event_id", "invocation.event_id")],
        ["builder.id", text(invocation, "builder.id", "invocation.builder.id")],
      ]),
    ],
    [
      "scanner",
      new GoStruct([
        ["uri", text(scanner, "uri", "scanner.uri")],
        ["version", text(scanner, "version", "scanner.version")],
        [
          "db",
          new GoStruct([
            ["uri", text(db, "uri", "scanner.db.uri")],
            ["version", text(db, "version", "scanner.db.version")],
          ]),
        ],
        ["result", anything(scanner, "result")],
      ]),
    ],
    [
      "metadata",
      new GoStruct([
        ["scanStartedOn", time(metadata, "scanStartedOn", "metadata.scanStartedOn")],
        ["scanFinishedOn", time(metadata, "scanFinishedOn", "metadata.scanFinishedOn")],
      ]),
    ],
  ]);
}

const RFC3339 = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

/**
 * A time string as Go writes it back after parsing (`time.RFC3339Nano`): the same instant and
 * offset, trailing zeros of the fraction dropped, a zero offset written `Z`.
 */
function normalizeGoTime(text: string, path: string): string {
  const match = RFC3339.exec(text);
  if (!match || Number.isNaN(Date.parse(text))) {
    throw invalid("vuln", `${path}: expected an RFC 3339 time`);
  }
  const [, base, fraction = "", zone] = match;
  const digits = fraction.replace(/0+$/, "");
  const offset = zone === "+00:00" || zone === "-00:00" ? "Z" : zone;
  return `${base}${digits ? `.${digits}` : ""}${offset}`;
}
