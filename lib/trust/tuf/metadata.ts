/**
 * Strict parsing of TUF metadata files (TUF specification 1.0, section 4 "Document formats"):
 * the `{signed, signatures}` envelope and the `signed` part of the four top-level roles (root,
 * timestamp, snapshot, targets). Parsing is not verifying: this module checks form only, and
 * `verify.ts` checks signatures against it.
 *
 * Everything comes in through `unknown` and guards. A file is refused
 * (`TRUST_TUF_METADATA_INVALID`) when it is not UTF-8, not JSON, has a duplicate object key (two
 * parsers must never read two meanings from one signed file), a float, the wrong `_type`, a
 * `spec_version` whose major is not 1, a `version` below 1, an `expires` that is not an exact
 * RFC 3339 time, a role threshold below 1 (go-tuf GHSA-fphv-w9fq-2525, SECURITY.md row 33), a
 * role listing a key ID twice, or a `signatures` list naming a key ID twice (tuf-js #781,
 * SECURITY.md row 30). Counts of keys, signatures, roles, meta entries, targets and delegations
 * are bounded (`TUF_COUNT_LIMITS`, `TRUST_TUF_TOO_LARGE`); byte sizes are bounded by the
 * updater before parsing. Unknown fields (`x-tuf-on-ci-*`, `keyid_hash_algorithms`) are kept in
 * the signed bytes and otherwise ignored, as the specification asks.
 *
 * @module
 */

import { fromUtf8, toBytes } from "../../util/bytes.ts";
import { parseStrictJson } from "../../util/strict_json.ts";
import { encodeTufCanonicalJson } from "./canonical_json.ts";
import { tufError } from "./errors.ts";

/** The four top-level roles. */
export type TufRoleName = "root" | "timestamp" | "snapshot" | "targets";

/** The top-level roles, in update order. */
export const TUF_ROLES: readonly TufRoleName[] = ["root", "timestamp", "snapshot", "targets"];

/** Bounds on attacker-controlled counts, checked before anything is walked. */
export const TUF_COUNT_LIMITS = {
  /** Keys in a root or a delegations object. */
  keys: 256,
  /** Signatures on one file. */
  signatures: 256,
  /** Key IDs one role lists. */
  roleKeyids: 256,
  /** Entries of a snapshot or timestamp `meta`. */
  meta: 10_000,
  /** Targets one targets file lists. */
  targets: 10_000,
  /** Delegated roles. */
  delegations: 1_000,
  /** Paths or hash prefixes one delegated role lists. */
  paths: 1_000,
  /** Entries of one `hashes` object. */
  hashes: 8,
} as const;

/** Longest string accepted for a key ID, a scheme, a role or target name. */
/**
 * TUF metadata is read as canonical JSON carries it: integers only, five or six levels deep.
 * Duplicate keys are refused, as for every security-relevant document (strict_json.ts).
 */
const TUF_JSON = { numbers: "integer", maxDepth: 64 } as const;

const MAX_NAME_CHARS = 1024;
/** Longest public key string (a PEM RSA-4096 key is about 800 characters). */
const MAX_PUBLIC_KEY_CHARS = 16 * 1024;
/** Longest signature string (hex of an RSA-8192 signature is 2048 characters). */
const MAX_SIGNATURE_CHARS = 4096;

/** A public key as TUF lists it. */
export interface TufKey {
  /** The key ID it is listed under. */
  readonly keyid: string;
  /** `keytype` (`ecdsa`, `ecdsa-sha2-nistp256`, `ed25519`, `rsa`, ...). */
  readonly keytype: string;
  /** `scheme` (`ecdsa-sha2-nistp256`, `ed25519`, `rsassa-pss-sha256`, ...). */
  readonly scheme: string;
  /** `keyval.public`: hex or PEM, by key type. */
  readonly public: string;
}

/** The keys and threshold of a role. */
export interface TufRoleKeys {
  /** The key IDs of the role, each at most once. */
  readonly keyids: readonly string[];
  /** Distinct keys needed, at least 1. */
  readonly threshold: number;
}

/** One signature of the envelope; `sig` is hex (possibly empty for an unsigned slot). */
export interface TufSignature {
  /** The key ID of the signer. */
  readonly keyid: string;
  /** Hex signature over the canonical `signed` bytes. */
  readonly sig: string;
}

/** Fields common to every role's `signed`. */
export interface TufSignedCommon {
  /** `spec_version` (major 1). */
  readonly specVersion: string;
  /** `version`, at least 1. */
  readonly version: number;
  /** `expires` as written. */
  readonly expires: string;
  /** `expires` as milliseconds since the epoch (fractions of a millisecond kept). */
  readonly expiresAt: number;
}

/** The length and hashes by which one metadata file names another (`meta` entries). */
export interface TufMetaFile {
  /** The version of the named file. */
  readonly version: number;
  /** Its exact length in bytes, when given. */
  readonly length?: number;
  /** Hash name to lower-case hex. */
  readonly hashes?: Readonly<Record<string, string>>;
}

/** A target file as the targets role describes it. */
export interface TufTargetFile {
  /** Exact length in bytes. */
  readonly length: number;
  /** Hash name to lower-case hex (never empty). */
  readonly hashes: Readonly<Record<string, string>>;
  /** `custom`, as parsed (unused by the client). */
  readonly custom?: unknown;
}

/** A delegated targets role (parsed and checked, not followed: see `updater.ts`). */
export interface TufDelegatedRole extends TufRoleKeys {
  /** The role name. */
  readonly name: string;
  /** Whether the search stops at this role. */
  readonly terminating: boolean;
}

/** The `signed` part of root metadata. */
export interface RootSigned extends TufSignedCommon {
  /** `_type`. */
  readonly type: "root";
  /** `consistent_snapshot` (false when absent). */
  readonly consistentSnapshot: boolean;
  /** The keys, by key ID. */
  readonly keys: ReadonlyMap<string, TufKey>;
  /** The four top-level roles. */
  readonly roles: Readonly<Record<TufRoleName, TufRoleKeys>>;
}

/** The `signed` part of timestamp metadata. */
export interface TimestampSigned extends TufSignedCommon {
  /** `_type`. */
  readonly type: "timestamp";
  /** `meta["snapshot.json"]`. */
  readonly snapshot: TufMetaFile;
}

/** The `signed` part of snapshot metadata. */
export interface SnapshotSigned extends TufSignedCommon {
  /** `_type`. */
  readonly type: "snapshot";
  /** The targets metadata files, by file name (`targets.json`, ...). */
  readonly meta: ReadonlyMap<string, TufMetaFile>;
}

/** The `signed` part of targets metadata. */
export interface TargetsSigned extends TufSignedCommon {
  /** `_type`. */
  readonly type: "targets";
  /** The target files, by target name. */
  readonly targets: ReadonlyMap<string, TufTargetFile>;
  /** Delegated roles and their keys (checked for form, never followed). */
  readonly delegations?: {
    /** Keys of the delegated roles, by key ID. */
    readonly keys: ReadonlyMap<string, TufKey>;
    /** The delegated roles, in priority order. */
    readonly roles: readonly TufDelegatedRole[];
  };
}

/** The `signed` part of any top-level role, by role name. */
export interface TufSignedByRole {
  /** Root. */
  root: RootSigned;
  /** Timestamp. */
  timestamp: TimestampSigned;
  /** Snapshot. */
  snapshot: SnapshotSigned;
  /** Targets. */
  targets: TargetsSigned;
}

/** A parsed metadata file: its `signed` part, signatures, and the bytes they cover. */
export interface TufMetadata<T extends TufSignedCommon = TufSignedCommon> {
  /** The parsed `signed` part. */
  readonly signed: T;
  /** The signatures, each key ID at most once. */
  readonly signatures: readonly TufSignature[];
  /** OLPC canonical JSON of `signed`: what the signatures cover. */
  readonly signedBytes: Uint8Array<ArrayBuffer>;
  /** The file as received. */
  readonly bytes: Uint8Array<ArrayBuffer>;
}

/** Root metadata. */
export type RootMetadata = TufMetadata<RootSigned>;
/** Timestamp metadata. */
export type TimestampMetadata = TufMetadata<TimestampSigned>;
/** Snapshot metadata. */
export type SnapshotMetadata = TufMetadata<SnapshotSigned>;
/** Targets metadata. */
export type TargetsMetadata = TufMetadata<TargetsSigned>;

type Json = Record<string, unknown>;

/** A form error at a JSON path; turned into a `CosignError` by `parseTufMetadata`. */
class FormError extends Error {
  constructor(message: string, readonly tooLarge = false) {
    super(message);
  }
}

/** True for a non-empty string of an even number of hex digits (either case), as TUF writes hashes, keys and signatures. */
export function isHex(text: string): boolean {
  return text.length > 0 && text.length % 2 === 0 && /^[0-9a-fA-F]+$/.test(text);
}

/**
 * The document's text, strict UTF-8. A byte order mark is kept, so that the JSON reader refuses
 * it (RFC 8259 section 8.1: not JSON) rather than the decoder dropping it unseen.
 */
function metadataText(bytes: Uint8Array): string {
  const text = fromUtf8(bytes);
  return bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? `\uFEFF${text}` : text;
}

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function object(value: unknown, path: string): Json {
  if (!isObject(value)) throw new FormError(`${path}: expected an object`);
  return value;
}

function entries(value: unknown, path: string, max: number): [string, unknown][] {
  const record = object(value, path);
  const keys = Object.keys(record);
  if (keys.length > max) throw new FormError(`${path}: more than ${max} entries`, true);
  return keys.map((key) => [key, record[key]]);
}

function array(value: unknown, path: string, max: number): unknown[] {
  if (!Array.isArray(value)) throw new FormError(`${path}: expected an array`);
  if (value.length > max) throw new FormError(`${path}: more than ${max} items`, true);
  return value;
}

function string(value: unknown, path: string, max = MAX_NAME_CHARS): string {
  if (typeof value !== "string") throw new FormError(`${path}: expected a string`);
  if (value.length > max) throw new FormError(`${path}: longer than ${max} characters`, true);
  return value;
}

function nonEmpty(text: string, path: string): string {
  if (text === "") throw new FormError(`${path}: must not be empty`);
  return text;
}

function name(value: unknown, path: string): string {
  return nonEmpty(string(value, path), path);
}

function integer(value: unknown, path: string, min: number): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min) {
    throw new FormError(`${path}: expected an integer >= ${min}`);
  }
  return value;
}

function boolean(value: unknown, path: string): boolean {
  if (typeof value !== "boolean") throw new FormError(`${path}: expected a boolean`);
  return value;
}

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(?:Z|([+-])(\d{2}):(\d{2}))$/;

/**
 * An RFC 3339 date-time (section 5.6) as milliseconds since the epoch, fractions kept; throws
 * `SyntaxError` for anything else, including impossible dates (`2021-02-30`) and leap seconds.
 * TUF asks for `YYYY-MM-DDTHH:MM:SSZ`, but Sigstore's root v1 expires at
 * `2021-12-18T13:28:12.99008-06:00`, so fractions and offsets are read exactly.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseTufTime } from "./metadata.ts";
 *
 * assert.equal(parseTufTime("2021-12-18T13:28:12.99008-06:00"), Date.UTC(2021, 11, 18, 19, 28, 12) + 990.08);
 * ```
 */
export function parseTufTime(text: string): number {
  const m = RFC3339.exec(text);
  if (m === null) throw new SyntaxError(`Not an RFC 3339 time: ${JSON.stringify(text)}`);
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  const offsetHours = m[9] === undefined ? 0 : Number(m[9]);
  const offsetMinutes = m[10] === undefined ? 0 : Number(m[10]);
  if (
    month < 1 || month > 12 || day < 1 || day > daysInMonth || hour > 23 || minute > 59 ||
    second > 59 || offsetHours > 23 || offsetMinutes > 59
  ) {
    throw new SyntaxError(`Not a valid RFC 3339 time: ${JSON.stringify(text)}`);
  }
  const utc = new Date(0);
  utc.setUTCFullYear(year, month - 1, day); // Date.UTC maps years 0-99 to 1900-1999
  utc.setUTCHours(hour, minute, second, 0);
  const fraction = m[7] === undefined ? 0 : Number(`0${m[7]}`) * 1000;
  const sign = m[8] === "-" ? -1 : 1;
  // "13:28-06:00" is 19:28 UTC: subtract the offset.
  return utc.getTime() + fraction - sign * (offsetHours * 60 + offsetMinutes) * 60_000;
}

function hashes(value: unknown, path: string): Record<string, string> {
  const out: Record<string, string> = {};
  const list = entries(value, path, TUF_COUNT_LIMITS.hashes);
  if (list.length === 0) throw new FormError(`${path}: must name at least one hash`);
  for (const [algorithm, hex] of list) {
    const text = string(hex, `${path}.${algorithm}`);
    if (!isHex(text)) throw new FormError(`${path}.${algorithm}: expected hex`);
    Object.defineProperty(out, name(algorithm, path), {
      value: text.toLowerCase(),
      enumerable: true,
    });
  }
  return out;
}

function key(keyid: string, value: unknown, path: string): TufKey {
  const record = object(value, path);
  const keyval = object(record.keyval, `${path}.keyval`);
  return {
    keyid,
    keytype: name(record.keytype, `${path}.keytype`),
    scheme: name(record.scheme, `${path}.scheme`),
    public: nonEmpty(string(keyval.public, `${path}.keyval.public`, MAX_PUBLIC_KEY_CHARS), path),
  };
}

function keys(value: unknown, path: string): Map<string, TufKey> {
  const out = new Map<string, TufKey>();
  for (const [keyid, item] of entries(value, path, TUF_COUNT_LIMITS.keys)) {
    out.set(keyid, key(name(keyid, path), item, `${path}.${keyid}`));
  }
  return out;
}

function roleKeys(value: unknown, path: string): TufRoleKeys {
  const record = object(value, path);
  const keyids = array(record.keyids, `${path}.keyids`, TUF_COUNT_LIMITS.roleKeyids).map(
    (item, i) => name(item, `${path}.keyids[${i}]`),
  );
  if (new Set(keyids).size !== keyids.length) {
    throw new FormError(`${path}.keyids: lists a key ID twice`);
  }
  // Section 4.3: "threshold ... MUST be a positive integer"; 0 would verify with no signature.
  return { keyids, threshold: integer(record.threshold, `${path}.threshold`, 1) };
}

function metaFile(value: unknown, path: string): TufMetaFile {
  const record = object(value, path);
  const out: { version: number; length?: number; hashes?: Record<string, string> } = {
    version: integer(record.version, `${path}.version`, 1),
  };
  if (record.length !== undefined) out.length = integer(record.length, `${path}.length`, 0);
  if (record.hashes !== undefined) out.hashes = hashes(record.hashes, `${path}.hashes`);
  return out;
}

function common(signed: Json, type: TufRoleName): TufSignedCommon {
  if (signed._type !== type) {
    throw new FormError(`signed._type: expected "${type}", got ${JSON.stringify(signed._type)}`);
  }
  const specVersion = name(signed.spec_version, "signed.spec_version");
  // Section 4.2 "spec_version": semver; a client MUST refuse another major version.
  if (!/^1\.\d+(\.\d+)?$/.test(specVersion)) {
    throw new FormError(`signed.spec_version: unsupported version "${specVersion}" (major 1 only)`);
  }
  const expires = name(signed.expires, "signed.expires");
  let expiresAt: number;
  try {
    expiresAt = parseTufTime(expires);
  } catch (cause) {
    throw new FormError(`signed.expires: ${(cause as Error).message}`);
  }
  return {
    specVersion,
    version: integer(signed.version, "signed.version", 1),
    expires,
    expiresAt,
  };
}

function rootSigned(signed: Json): RootSigned {
  const roles = object(signed.roles, "signed.roles");
  const names = Object.keys(roles);
  // Section 4.3: the root lists exactly the four top-level roles.
  if (names.length !== 4 || !TUF_ROLES.every((role) => names.includes(role))) {
    throw new FormError(`signed.roles: expected exactly ${TUF_ROLES.join(", ")}`);
  }
  const parsedRoles = {} as Record<TufRoleName, TufRoleKeys>;
  for (const role of TUF_ROLES) parsedRoles[role] = roleKeys(roles[role], `signed.roles.${role}`);
  return {
    type: "root",
    ...common(signed, "root"),
    consistentSnapshot: signed.consistent_snapshot === undefined
      ? false
      : boolean(signed.consistent_snapshot, "signed.consistent_snapshot"),
    keys: keys(signed.keys, "signed.keys"),
    roles: parsedRoles,
  };
}

function timestampSigned(signed: Json): TimestampSigned {
  const meta = new Map(entries(signed.meta, "signed.meta", TUF_COUNT_LIMITS.meta));
  if (!meta.has("snapshot.json")) throw new FormError(`signed.meta: no "snapshot.json" entry`);
  return {
    type: "timestamp",
    ...common(signed, "timestamp"),
    snapshot: metaFile(meta.get("snapshot.json"), `signed.meta["snapshot.json"]`),
  };
}

function snapshotSigned(signed: Json): SnapshotSigned {
  const meta = new Map<string, TufMetaFile>();
  for (const [file, value] of entries(signed.meta, "signed.meta", TUF_COUNT_LIMITS.meta)) {
    meta.set(name(file, "signed.meta"), metaFile(value, `signed.meta[${JSON.stringify(file)}]`));
  }
  return { type: "snapshot", ...common(signed, "snapshot"), meta };
}

function targetFile(value: unknown, path: string): TufTargetFile {
  const record = object(value, path);
  const out: { length: number; hashes: Record<string, string>; custom?: unknown } = {
    length: integer(record.length, `${path}.length`, 0),
    hashes: hashes(record.hashes, `${path}.hashes`),
  };
  if (record.custom !== undefined) out.custom = object(record.custom, `${path}.custom`);
  return out;
}

function delegatedRole(value: unknown, path: string): TufDelegatedRole {
  const record = object(value, path);
  const hasPaths = record.paths !== undefined;
  const hasPrefixes = record.path_hash_prefixes !== undefined;
  // Section 4.5: "paths" and "path_hash_prefixes" are mutually exclusive.
  if (hasPaths && hasPrefixes) {
    throw new FormError(`${path}: both "paths" and "path_hash_prefixes"`);
  }
  const field = hasPaths ? "paths" : "path_hash_prefixes";
  if (hasPaths || hasPrefixes) {
    array(record[field], `${path}.${field}`, TUF_COUNT_LIMITS.paths).forEach((item, i) =>
      string(item, `${path}.${field}[${i}]`)
    );
  }
  return {
    name: name(record.name, `${path}.name`),
    terminating: boolean(record.terminating, `${path}.terminating`),
    ...roleKeys(record, path),
  };
}

function targetsSigned(signed: Json): TargetsSigned {
  const targets = new Map<string, TufTargetFile>();
  for (
    const [target, value] of entries(signed.targets, "signed.targets", TUF_COUNT_LIMITS.targets)
  ) {
    targets.set(
      name(target, "signed.targets"),
      targetFile(value, `signed.targets[${JSON.stringify(target)}]`),
    );
  }
  const out: {
    -readonly [K in keyof TargetsSigned]: TargetsSigned[K];
  } = { type: "targets", ...common(signed, "targets"), targets };
  if (signed.delegations !== undefined) {
    const delegations = object(signed.delegations, "signed.delegations");
    const roles = array(delegations.roles, "signed.delegations.roles", TUF_COUNT_LIMITS.delegations)
      .map((item, i) => delegatedRole(item, `signed.delegations.roles[${i}]`));
    if (new Set(roles.map((role) => role.name)).size !== roles.length) {
      throw new FormError("signed.delegations.roles: a role name appears twice");
    }
    out.delegations = { keys: keys(delegations.keys, "signed.delegations.keys"), roles };
  }
  return out;
}

function signatures(value: unknown): TufSignature[] {
  const list = array(value, "signatures", TUF_COUNT_LIMITS.signatures).map((item, i) => {
    const record = object(item, `signatures[${i}]`);
    return {
      keyid: name(record.keyid, `signatures[${i}].keyid`),
      sig: string(record.sig, `signatures[${i}].sig`, MAX_SIGNATURE_CHARS),
    };
  });
  // tuf-js #781 / SECURITY.md row 30: one key ID signing twice is refused, not counted twice.
  if (new Set(list.map((s) => s.keyid)).size !== list.length) {
    throw new FormError("signatures: a key ID appears twice");
  }
  return list;
}

const PARSERS: { [R in TufRoleName]: (signed: Json) => TufSignedByRole[R] } = {
  root: rootSigned,
  timestamp: timestampSigned,
  snapshot: snapshotSigned,
  targets: targetsSigned,
};

/** Options of `parseTufMetadata`. */
export interface TufParseOptions {
  /**
   * These exact bytes passed this parse before (a cache receipt says so, `_cached_set.ts`):
   * they are read by the native `JSON.parse`, which reads text the strict reader accepted to the
   * same values, and checked for form as always.
   */
  readonly vouched?: boolean;
}

/**
 * Parse a metadata file of the given top-level role. Throws `CosignError`
 * `TRUST_TUF_METADATA_INVALID` for a malformed file and `TRUST_TUF_TOO_LARGE` for a count past
 * `TUF_COUNT_LIMITS`; `label` names the file in the message (default `<role>.json`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isCosignError } from "../../errors.ts";
 * import { parseTufMetadata } from "./metadata.ts";
 *
 * const bytes = new TextEncoder().encode('{"signed":{"_type":"root","_type":"root"},"signatures":[]}');
 * assert.throws(() => parseTufMetadata(bytes, "root"), (e) => isCosignError(e, "TRUST_TUF_METADATA_INVALID"));
 * ```
 */
export function parseTufMetadata<R extends TufRoleName>(
  bytes: Uint8Array,
  role: R,
  label = `${role}.json`,
  options: TufParseOptions = {},
): TufMetadata<TufSignedByRole[R]> {
  try {
    const text = metadataText(bytes);
    const json = options.vouched ? JSON.parse(text) : parseStrictJson(text, TUF_JSON);
    const document = object(json, "(document)");
    const signedJson = object(document.signed, "signed");
    const signed = PARSERS[role](signedJson);
    // Canonicalized on first use: a cached role the receipt vouches for (`_cached_set.ts`) is
    // never verified again. It cannot fail later: the strict parse above already refused all
    // canonical JSON cannot carry (fractions, lone surrogates, depth past 64).
    let signedBytes: Uint8Array<ArrayBuffer> | undefined;
    return {
      signed,
      signatures: signatures(document.signatures),
      get signedBytes() {
        return signedBytes ??= encodeTufCanonicalJson(signedJson);
      },
      bytes: toBytes(bytes),
    };
  } catch (cause) {
    const tooLarge = cause instanceof FormError && cause.tooLarge;
    throw tufError(
      tooLarge ? "TRUST_TUF_TOO_LARGE" : "TRUST_TUF_METADATA_INVALID",
      `Invalid TUF ${role} metadata "${label}": ${(cause as Error).message}`,
      cause,
    );
  }
}
