/**
 * Trust material built from parts, for private Sigstore deployments and cosign's environment
 * overrides: the service specs of `trusted-root create` and `signing-config create`
 * (`url=...,public-key=...,start-time=...`, cosign's `cmd/cosign/cli/trustedroot` and
 * `signingconfig`), and the trusted-root entries a PEM key or certificate chain stands for
 * (cosign's `SIGSTORE_ROOT_FILE`, `SIGSTORE_REKOR_PUBLIC_KEY`, `SIGSTORE_CT_LOG_PUBLIC_KEY_FILE`,
 * `SIGSTORE_TSA_CERTIFICATE_FILE`). Pure: callers read the files; this module turns their
 * bytes into `TrustedLog`s, `TrustedAuthority`s and `ServiceEndpoint`s, refusing malformed
 * parts with `TRUST_MALFORMED` in one line.
 *
 * @module
 */

import { concat, sha256, utf8 } from "../util/bytes.ts";
import { CosignError, errorMessage } from "../errors.ts";
import { PublicKey } from "../keys/public_key.ts";
import { type Certificate, parseCertificatesPem } from "../x509/certificate.ts";
import { NAME_ATTRIBUTE_OID } from "../x509/oids.ts";
import type { ServiceEndpoint } from "./signing_config.ts";
import {
  keyDetailsOf,
  TRUSTED_ROOT_MEDIA_TYPES,
  type TrustedAuthority,
  type TrustedLog,
  type TrustedRoot,
  type ValidityPeriod,
} from "./trusted_root.ts";

/** Error codes raised here. */
export type TrustBuildErrorCode = "TRUST_MALFORMED";

/** Most key=value pairs one spec may hold. */
const MAX_SPEC_PAIRS = 16;

function malformed(message: string, cause?: unknown): CosignError {
  return new CosignError("TRUST_MALFORMED", message, cause === undefined ? {} : { cause });
}

/**
 * A service spec (`url=https://fulcio.example,certificate-chain=chain.pem,start-time=...`) as
 * key-value pairs: split at commas, each pair at its first `=`, keys and values trimmed (as
 * cosign's `parseKVs`). A pair without `=`, an empty key or a repeated key is `TRUST_MALFORMED`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseServiceSpec } from "./build.ts";
 *
 * assert.deepEqual(
 *   parseServiceSpec("url=https://rekor.example, public-key=rekor.pub,start-time=2024-01-01T00:00:00Z"),
 *   { url: "https://rekor.example", "public-key": "rekor.pub", "start-time": "2024-01-01T00:00:00Z" },
 * );
 * ```
 */
export function parseServiceSpec(spec: string): Record<string, string> {
  const pairs = spec.split(",", MAX_SPEC_PAIRS + 1);
  if (pairs.length > MAX_SPEC_PAIRS) {
    throw malformed(`Invalid service spec "${spec}": more than ${MAX_SPEC_PAIRS} key=value pairs`);
  }
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    const key = pair.slice(0, Math.max(eq, 0)).trim();
    if (eq < 0 || key === "") {
      throw malformed(`Invalid service spec "${spec}": "${pair}" is not key=value`);
    }
    if (Object.hasOwn(out, key)) {
      throw malformed(`Invalid service spec "${spec}": "${key}" is given twice`);
    }
    Object.defineProperty(out, key, {
      value: pair.slice(eq + 1).trim(),
      enumerable: true,
      writable: true,
    });
  }
  return out;
}

/** The value of `key` in a parsed spec; `TRUST_MALFORMED` naming the spec when absent or empty. */
export function requireSpecValue(
  spec: Readonly<Record<string, string>>,
  key: string,
  what: string,
): string {
  const value = spec[key];
  if (value === undefined || value === "") {
    throw malformed(`The ${what} spec lacks the required key "${key}"`);
  }
  return value;
}

/** An RFC 3339 time from a spec (`start-time`, `end-time`); `TRUST_MALFORMED` otherwise. */
export function parseSpecTime(text: string, what: string): Date {
  // RFC 3339 section 5.6 date-time, as Go's time.RFC3339 reads it.
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i.test(text)) {
    throw malformed(`Invalid ${what} "${text}": expected an RFC 3339 time`);
  }
  const date = new Date(text);
  if (Number.isNaN(date.getTime())) throw malformed(`Invalid ${what} "${text}"`);
  return date;
}

/** A validity window from optional spec times, `start` defaulting to `defaultStart`. */
export function specValidity(
  spec: Readonly<Record<string, string>>,
  what: string,
  defaultStart?: Date,
): ValidityPeriod {
  const startText = spec["start-time"];
  const start = startText ? parseSpecTime(startText, `${what} start-time`) : defaultStart;
  if (start === undefined) throw malformed(`The ${what} spec lacks the required key "start-time"`);
  const endText = spec["end-time"];
  if (!endText) return { start };
  const end = parseSpecTime(endText, `${what} end-time`);
  if (end.getTime() < start.getTime()) {
    throw malformed(`The ${what} spec ends ("${endText}") before it starts`);
  }
  return { start, end };
}

/** A PEM public key; `TRUST_MALFORMED` naming `what` otherwise. */
export function parsePublicKeyPem(pem: Uint8Array | string, what: string): PublicKey {
  try {
    return PublicKey.fromPem(typeof pem === "string" ? pem : new TextDecoder().decode(pem));
  } catch (cause) {
    throw malformed(`Invalid ${what}: ${errorMessage(cause)}`, cause);
  }
}

/** PEM certificates, at least one; `TRUST_MALFORMED` naming `what` otherwise. */
export function parseCertificateChainPem(pem: Uint8Array | string, what: string): Certificate[] {
  let certs: Certificate[];
  try {
    certs = parseCertificatesPem(typeof pem === "string" ? pem : new TextDecoder().decode(pem));
  } catch (cause) {
    throw malformed(`Invalid ${what}: ${errorMessage(cause)}`, cause);
  }
  if (certs.length === 0) throw malformed(`Invalid ${what}: no PEM certificates`);
  if (certs.length > 16) throw malformed(`Invalid ${what}: more than 16 certificates`);
  return certs;
}

/**
 * The checkpoint key ID of a log signing C2SP signed notes as `origin` (Rekor v2): the full
 * SHA-256 over `origin || 0x0A || type || key` of the C2SP signed-note key ID (`0x01` and the
 * raw key for Ed25519; ECDSA keys are identified by SHA-256 of their SPKI), as cosign's
 * `trusted-root create --rekor ...,origin=` writes it.
 */
export function checkpointKeyIdFor(key: PublicKey, origin: string): Uint8Array<ArrayBuffer> {
  if (key.kind === "ed25519") {
    return sha256(concat(utf8(`${origin}\n`), Uint8Array.of(0x01), key.rawKey));
  }
  if (key.kind === "rsa") {
    return sha256(
      concat(utf8(`${origin}\n`), Uint8Array.of(0xff), utf8("PKIX-RSA-PKCS#1v1.5"), key.spki),
    );
  }
  return sha256(key.spki);
}

/** Options of `trustedLog`. */
export interface TrustedLogOptions {
  /** The log's base URL (`baseUrl`). */
  readonly baseUrl: string;
  /** When its key may vouch for entries. */
  readonly validFor: ValidityPeriod;
  /** A Rekor v2 log's checkpoint origin: its log ID is then the checkpoint key ID. */
  readonly origin?: string;
}

/** The trusted-root entry of a transparency or CT log with `key`. */
export function trustedLog(key: PublicKey, options: TrustedLogOptions): TrustedLog {
  const checkpointKeyId = options.origin === undefined
    ? undefined
    : checkpointKeyIdFor(key, options.origin);
  return {
    baseUrl: options.baseUrl,
    // cosign: the log ID is SHA-256(SPKI), or for a v2 log the checkpoint key ID.
    logId: checkpointKeyId ?? key.fingerprint(),
    key,
    keyDetails: keyDetailsOf(key),
    validFor: options.validFor,
    ...(checkpointKeyId ? { checkpointKeyId } : {}),
  };
}

function subjectOf(cert: Certificate): TrustedAuthority["subject"] {
  const attribute = (oid: string) => cert.subject.rdns.flat().find((a) => a.oid === oid)?.value;
  const organization = attribute(NAME_ATTRIBUTE_OID.O);
  const commonName = attribute(NAME_ATTRIBUTE_OID.CN);
  return {
    ...(organization !== undefined ? { organization } : {}),
    ...(commonName !== undefined ? { commonName } : {}),
  };
}

/** Options of `trustedAuthority`. */
export interface TrustedAuthorityOptions {
  /** The authority's URL (`uri`). */
  readonly uri: string;
  /** When it may vouch; default from the first certificate's `notBefore`, open-ended. */
  readonly validFor?: ValidityPeriod;
  /**
   * `ca`: a Fulcio chain, intermediates first and the root last (cosign's order); `tsa`: the
   * timestamping leaf first, then intermediates, then the root. The leaf of a TSA chain must
   * not be a CA certificate.
   */
  readonly kind: "ca" | "tsa";
}

/** The trusted-root entry of a certificate authority or TSA with `chain` (anchor last). */
export function trustedAuthority(
  chain: readonly Certificate[],
  options: TrustedAuthorityOptions,
): TrustedAuthority {
  const first = chain[0];
  if (first === undefined) throw malformed(`The ${options.kind} chain holds no certificate`);
  if (options.kind === "tsa" && first.basicConstraints?.cA === true) {
    throw malformed(
      "The TSA certificate chain must start with the timestamping leaf, not a CA certificate",
    );
  }
  return {
    subject: subjectOf(chain.at(-1)!),
    uri: options.uri,
    certificates: chain.map((cert) => cert.raw),
    validFor: options.validFor ?? { start: first.notBefore },
  };
}

/** The parts cosign's `SIGSTORE_*` environment variables name, as file contents. */
export interface TrustOverrideFiles {
  /** `SIGSTORE_ROOT_FILE`: PEM certificates of the Fulcio roots (and intermediates). */
  readonly fulcioCertificates?: Uint8Array;
  /** `SIGSTORE_REKOR_PUBLIC_KEY`: the PEM key of the Rekor log. */
  readonly rekorPublicKey?: Uint8Array;
  /** `SIGSTORE_CT_LOG_PUBLIC_KEY_FILE`: the PEM key of the CT log behind Fulcio's SCTs. */
  readonly ctLogPublicKey?: Uint8Array;
  /** `SIGSTORE_TSA_CERTIFICATE_FILE`: the TSA chain as PEM, leaf first and root last. */
  readonly tsaCertificates?: Uint8Array;
}

function isSelfSigned(cert: Certificate): boolean {
  const a = cert.subject.raw;
  const b = cert.issuer.raw;
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

/**
 * The trusted root cosign's environment overrides stand for, and nothing else: when any of them
 * is set, cosign does not read `trusted_root.json` from TUF. Each Fulcio root of
 * `SIGSTORE_ROOT_FILE` (a self-signed certificate) becomes one authority with every other
 * certificate of the file as its intermediates; keys and chains carry no validity bound of
 * their own here (certificates keep theirs). What is not given is simply absent, so a check
 * that needs it fails naming what the trusted root lacks.
 */
export function trustedRootFromOverrides(files: TrustOverrideFiles): TrustedRoot {
  const always: ValidityPeriod = { start: new Date(0) };
  const certificateAuthorities: TrustedAuthority[] = [];
  if (files.fulcioCertificates) {
    const certs = parseCertificateChainPem(files.fulcioCertificates, "SIGSTORE_ROOT_FILE");
    const roots = certs.filter(isSelfSigned);
    if (roots.length === 0) {
      throw malformed("Invalid SIGSTORE_ROOT_FILE: no self-signed root certificate");
    }
    const intermediates = certs.filter((cert) => !isSelfSigned(cert));
    for (const root of roots) {
      certificateAuthorities.push(
        trustedAuthority([...intermediates, root], { uri: "", kind: "ca", validFor: always }),
      );
    }
  }
  const log = (pem: Uint8Array | undefined, what: string) =>
    pem ? [trustedLog(parsePublicKeyPem(pem, what), { baseUrl: "", validFor: always })] : [];
  return {
    mediaType: TRUSTED_ROOT_MEDIA_TYPES[0],
    tlogs: log(files.rekorPublicKey, "SIGSTORE_REKOR_PUBLIC_KEY"),
    ctlogs: log(files.ctLogPublicKey, "SIGSTORE_CT_LOG_PUBLIC_KEY_FILE"),
    certificateAuthorities,
    timestampAuthorities: files.tsaCertificates
      ? [trustedAuthority(
        parseCertificateChainPem(files.tsaCertificates, "SIGSTORE_TSA_CERTIFICATE_FILE"),
        { uri: "", kind: "tsa", validFor: always },
      )]
      : [],
  };
}

/** Options of `serviceEndpoint`. */
export interface ServiceEndpointOptions {
  /** What the spec is for, in messages (`--rekor`). */
  readonly what: string;
}

/**
 * A signing-config service from a `signing-config create` spec: `url`, `api-version` (a
 * positive integer), `start-time` and `operator` required, `end-time` optional (cosign's
 * `parseService`).
 */
export function serviceEndpoint(spec: string, options: ServiceEndpointOptions): ServiceEndpoint {
  const kv = parseServiceSpec(spec);
  const what = options.what;
  const url = requireSpecValue(kv, "url", what);
  const versionText = requireSpecValue(kv, "api-version", what);
  if (!/^[1-9][0-9]{0,8}$/.test(versionText)) {
    throw malformed(`Invalid ${what} api-version "${versionText}": expected a positive integer`);
  }
  requireSpecValue(kv, "start-time", what);
  return {
    url,
    majorApiVersion: Number(versionText),
    validFor: specValidity(kv, what),
    operator: requireSpecValue(kv, "operator", what),
  };
}
