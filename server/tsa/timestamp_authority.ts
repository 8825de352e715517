/**
 * The embedded RFC 3161 timestamp authority (`dcosign serve`, path `/api/v1/timestamp`), shaped
 * like sigstore/timestamp-authority: a self-signed root, a leaf with the sole critical EKU
 * timeStamping, policy 1.3.6.1.4.1.57264.2, and `TimeStampResp` answers that `lib/timestamp/token.ts`
 * (and sigstore-go/js) verify. State lives in `TimestampAuthority`; `tsaRoutes` is a thin Hono
 * layer. Requests are bounded before parsing (64 KiB, 128 OID arcs in `lib/util/der.ts`), and the
 * Content-Type must name exactly one `application/` type (SECURITY.md row 26).
 *
 * @module
 */

import {
  type Bytes,
  concat,
  digest,
  fromBase64,
  type HashName,
  toBase64,
} from "../../lib/util/bytes.ts";
import {
  derContext,
  derGeneralizedTime,
  derInteger,
  derNull,
  derOctetString,
  derOid,
  derSequence,
  derSet,
  derTime,
  encodeTlv,
} from "../../lib/util/der.ts";
import { encodePem } from "../../lib/util/pem.ts";
import {
  createLeafCertificate,
  createRootCertificate,
  randomSerial,
  signatureAlgorithmFor,
} from "../fulcio/certificate_builder.ts";
import { CosignError, errorMessage } from "../../lib/errors.ts";
import { ecdsaRawToDer, PublicKey, type Signer } from "../../lib/keys/public_key.ts";
import { HASH_OID, NAME_ATTRIBUTE_OID, OID } from "../../lib/x509/oids.ts";
import { parseTimestampRequest } from "../../lib/timestamp/client.ts";
import type { TrustedAuthority } from "../../lib/trust/trusted_root.ts";
import { type Certificate, parseCertificate } from "../../lib/x509/certificate.ts";

/** Error codes raised here. */
export type TsaServerErrorCode = "SERVER_TSA_STATE" | "TSA_UNSUPPORTED_POLICY";

const WEBCRYPTO_HASH: Record<HashName, string> = {
  sha256: "SHA-256",
  sha384: "SHA-384",
  sha512: "SHA-512",
};

/** An ECDSA key held as a WebCrypto key, with its PKCS#8 for persistence. */
class CryptoKeySigner implements Signer {
  readonly publicKey: PublicKey;
  readonly pkcs8: Bytes;
  readonly #key: CryptoKey;

  private constructor(publicKey: PublicKey, pkcs8: Bytes, key: CryptoKey) {
    this.publicKey = publicKey;
    this.pkcs8 = pkcs8;
    this.#key = key;
  }

  static async generate(): Promise<CryptoKeySigner> {
    const pair = await crypto.subtle.generateKey(
      { name: "ECDSA", namedCurve: "P-384" },
      true,
      ["sign", "verify"],
    );
    return CryptoKeySigner.fromPkcs8(
      new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey)),
    );
  }

  static async fromPkcs8(pkcs8: Uint8Array): Promise<CryptoKeySigner> {
    const bytes = Uint8Array.from(pkcs8) as Bytes;
    let key: CryptoKey | undefined;
    for (const namedCurve of ["P-384", "P-256", "P-521"]) {
      key = await crypto.subtle.importKey("pkcs8", bytes, { name: "ECDSA", namedCurve }, true, [
        "sign",
      ]).catch(() => undefined);
      if (key) break;
    }
    if (!key) throw new CosignError("SERVER_TSA_STATE", "TSA key is not an ECDSA PKCS#8 key");
    // WebCrypto derives the public key through a JWK export of the private key.
    const { kty, crv, x, y } = await crypto.subtle.exportKey("jwk", key);
    if (!kty || !crv || !x || !y) throw new CosignError("SERVER_TSA_STATE", "Invalid TSA key");
    const publicJwk = await crypto.subtle.importKey(
      "jwk",
      { kty, crv, x, y, ext: true },
      { name: "ECDSA", namedCurve: crv },
      true,
      ["verify"],
    );
    const spki = new Uint8Array(await crypto.subtle.exportKey("spki", publicJwk));
    return new CryptoKeySigner(PublicKey.fromSpki(spki), bytes, key);
  }

  async sign(data: Uint8Array, options: { hash?: HashName } = {}): Promise<Bytes> {
    const hash = WEBCRYPTO_HASH[options.hash ?? this.publicKey.defaultHash];
    const raw = await crypto.subtle.sign({ name: "ECDSA", hash }, this.#key, data as Bytes);
    return ecdsaRawToDer(new Uint8Array(raw));
  }
}

/** Options of `TimestampAuthority.create`. */
export interface TimestampAuthorityOptions {
  /** Clock (default `() => new Date()`). */
  readonly now?: () => Date;
  /** Signing key for the TSA leaf; default a fresh P-384 key (then `toJSON` can persist it). */
  readonly signer?: Signer;
  /** The leaf key as PKCS#8 DER (ECDSA), instead of `signer`. */
  readonly pkcs8?: Uint8Array;
  /** Base URL the TSA is served at, for `trustedAuthority()` (default `http://127.0.0.1`). */
  readonly url?: string;
}

/** A chain the TSA signed with before a rotation, and when it did. */
export interface RetiredTimestampChainJson {
  /** Base64 DER certificates, leaf first, root last. */
  readonly certificates: readonly string[];
  /** When the chain was put to use (RFC 3339). */
  readonly start: string;
  /** When it was retired (RFC 3339). */
  readonly end: string;
}

/** The persisted form: the leaf key and the chain, and the chains rotated out. */
export interface TimestampAuthorityJson {
  /** Base64 PKCS#8 of the leaf key. */
  readonly key: string;
  /** Base64 DER certificates, leaf first, root last. */
  readonly certificates: readonly string[];
  /** When the current chain was put to use, after a rotation (RFC 3339). */
  readonly since?: string;
  /** Chains retired by `rotate()`, oldest first. */
  readonly retired?: readonly RetiredTimestampChainJson[];
}

/** Most retired chains kept (and read back). */
const MAX_RETIRED_CHAINS = 16;

interface RetiredChain {
  readonly chain: readonly Certificate[];
  readonly start: Date;
  readonly end: Date;
}

/** Largest request body accepted. */
export const MAX_TSA_REQUEST_BYTES = 64 * 1024;

/**
 * An RFC 3161 timestamp authority: its key, its chain, and how it answers requests.
 *
 * @example Create one, name it in a trusted root, keep its key across restarts
 * ```ts
 * import assert from "node:assert/strict";
 * import { TimestampAuthority } from "@dcosign/dcosign/server";
 *
 * const tsa = await TimestampAuthority.create({ url: "https://tsa.example" });
 * assert.equal(tsa.chain.length, 2); // the timestamping leaf, then its root
 * const authority = tsa.trustedAuthority(); // a `timestampAuthorities` entry
 * assert.equal(authority.uri, "https://tsa.example/api/v1/timestamp");
 *
 * const restored = await TimestampAuthority.fromJSON(JSON.parse(JSON.stringify(tsa)));
 * assert.ok(restored.chain[0]?.publicKey.equals(tsa.chain[0]!.publicKey));
 * ```
 */
export class TimestampAuthority {
  #chain: readonly Certificate[];
  #signer: Signer;
  #pkcs8: Bytes | undefined;
  /** When the current chain was put to use, after a rotation. */
  #since: Date | undefined;
  #retired: RetiredChain[] = [];
  readonly #now: () => Date;
  readonly #url: string;

  private constructor(
    signer: Signer,
    pkcs8: Bytes | undefined,
    chain: Certificate[],
    options: TimestampAuthorityOptions,
  ) {
    if (!chain[0]!.publicKey.equals(signer.publicKey)) {
      throw new CosignError("SERVER_TSA_STATE", "TSA key does not match its certificate");
    }
    this.#signer = signer;
    this.#pkcs8 = pkcs8;
    this.#chain = chain;
    this.#now = options.now ?? (() => new Date());
    this.#url = options.url ?? "http://127.0.0.1";
  }

  /** The current chain: the timestamping leaf first, the root last. */
  get chain(): readonly Certificate[] {
    return this.#chain;
  }

  /** A new TSA: a self-signed P-384 root (discarded key) and a 10-year timestamping leaf. */
  static async create(options: TimestampAuthorityOptions = {}): Promise<TimestampAuthority> {
    const generated = options.signer || options.pkcs8
      ? undefined
      : await CryptoKeySigner.generate();
    const imported = options.pkcs8 ? await CryptoKeySigner.fromPkcs8(options.pkcs8) : undefined;
    const signer = options.signer ?? imported ?? generated!;
    const chain = await TimestampAuthority.#issueChain(
      signer,
      (options.now ?? (() => new Date()))(),
    );
    const pkcs8 = (imported ?? generated)?.pkcs8;
    return new TimestampAuthority(signer, pkcs8, chain, options);
  }

  /**
   * Rotate the signing key: a fresh key and chain (new root) sign from `now` on; the previous
   * chain is kept as a retired authority valid until `now`, so `trustedAuthorities()` vouches for
   * timestamps made before the rotation and the new chain alone for those after it.
   */
  async rotate(now: Date = this.#now()): Promise<void> {
    const signer = await CryptoKeySigner.generate();
    const chain = await TimestampAuthority.#issueChain(signer, now);
    const start = this.#since ?? this.#chain[0]!.notBefore;
    this.#retired = [...this.#retired, { chain: this.#chain, start, end: now }]
      .slice(-MAX_RETIRED_CHAINS);
    this.#signer = signer;
    this.#pkcs8 = signer.pkcs8;
    this.#chain = chain;
    // Timestamps state whole seconds (`issue`): the new chain is trusted from this one on.
    this.#since = new Date(Math.floor(now.getTime() / 1000) * 1000);
  }

  static async #issueChain(signer: Signer, now: Date): Promise<Certificate[]> {
    const notBefore = new Date(Math.floor(now.getTime() / 1000) * 1000 - 60_000);
    const notAfter = new Date(notBefore.getTime() + 10 * 365 * 24 * 3600 * 1000);
    const rootKey = await CryptoKeySigner.generate();
    const root = await createRootCertificate(rootKey, {
      subject: { O: "dcosign", CN: "dcosign-tsa-root" },
      notBefore,
      notAfter,
    });
    const leaf = await createLeafCertificate(rootKey, root, {
      publicKey: signer.publicKey,
      subject: { O: "dcosign", CN: "dcosign-tsa" },
      notBefore,
      notAfter,
      extKeyUsage: [OID.EKU_TIME_STAMPING],
      criticalExtKeyUsage: true,
    });
    return [leaf, root];
  }

  /** Restore a TSA from `toJSON()` output. */
  static async fromJSON(
    json: unknown,
    options: Omit<TimestampAuthorityOptions, "signer" | "pkcs8"> = {},
  ): Promise<TimestampAuthority> {
    let pkcs8: Bytes;
    let chain: Certificate[];
    let since: Date | undefined;
    const retired: RetiredChain[] = [];
    const certificates = (value: unknown): Certificate[] => {
      if (!Array.isArray(value) || value.length < 1 || value.length > 8) {
        throw new SyntaxError("expected 1 to 8 certificates");
      }
      return value.map((c) => parseCertificate(fromBase64(String(c))));
    };
    const time = (value: unknown): Date => {
      const date = new Date(typeof value === "string" ? value : Number.NaN);
      if (Number.isNaN(date.getTime())) throw new SyntaxError("expected an RFC 3339 time");
      return date;
    };
    try {
      const record = json as Partial<Record<keyof TimestampAuthorityJson, unknown>>;
      if (typeof record?.key !== "string" || !Array.isArray(record.certificates)) {
        throw new SyntaxError("expected {key, certificates}");
      }
      pkcs8 = fromBase64(record.key);
      chain = certificates(record.certificates);
      if (record.since !== undefined) since = time(record.since);
      if (record.retired !== undefined) {
        if (!Array.isArray(record.retired) || record.retired.length > MAX_RETIRED_CHAINS) {
          throw new SyntaxError(`expected at most ${MAX_RETIRED_CHAINS} retired chains`);
        }
        for (const item of record.retired as unknown[]) {
          const entry = (item ?? {}) as Record<string, unknown>;
          retired.push({
            chain: certificates(entry.certificates),
            start: time(entry.start),
            end: time(entry.end),
          });
        }
      }
    } catch (cause) {
      throw new CosignError("SERVER_TSA_STATE", `Invalid TSA state: ${errorMessage(cause)}`, {
        cause,
      });
    }
    const signer = await CryptoKeySigner.fromPkcs8(pkcs8);
    const tsa = new TimestampAuthority(signer, pkcs8, chain, options);
    tsa.#since = since;
    tsa.#retired = retired;
    return tsa;
  }

  /** The key (PKCS#8) and chain, for `fromJSON`; only when the TSA holds its own key. */
  toJSON(): TimestampAuthorityJson {
    if (!this.#pkcs8) {
      throw new TypeError("This TSA signs with an external signer: its key cannot be exported");
    }
    return {
      key: toBase64(this.#pkcs8),
      certificates: this.#chain.map((cert) => toBase64(cert.raw)),
      ...(this.#since ? { since: this.#since.toISOString() } : {}),
      ...(this.#retired.length > 0
        ? {
          retired: this.#retired.map((r) => ({
            certificates: r.chain.map((cert) => toBase64(cert.raw)),
            start: r.start.toISOString(),
            end: r.end.toISOString(),
          })),
        }
        : {}),
    };
  }

  /** The chain as PEM, leaf first (`GET /api/v1/timestamp/certchain`). */
  certificateChainPem(): string {
    return this.#chain.map((cert) => encodePem("CERTIFICATE", cert.raw)).join("");
  }

  /**
   * The trusted-root entries for this TSA: the current chain, then each retired one, valid
   * until its rotation.
   */
  trustedAuthorities(baseUrl: string = this.#url): TrustedAuthority[] {
    return [
      this.trustedAuthority(baseUrl),
      ...this.#retired.toReversed().map((r) => ({
        ...TimestampAuthority.#authority(r.chain, baseUrl),
        validFor: { start: r.start, end: r.end },
      })),
    ];
  }

  /**
   * The trusted-root entry for the current chain (leaf first, root last, valid from the leaf's
   * start, or from the last rotation).
   */
  trustedAuthority(baseUrl: string = this.#url): TrustedAuthority {
    return {
      ...TimestampAuthority.#authority(this.#chain, baseUrl),
      validFor: { start: this.#since ?? this.#chain[0]!.notBefore },
    };
  }

  static #authority(
    chain: readonly Certificate[],
    baseUrl: string,
  ): Omit<TrustedAuthority, "validFor"> {
    const root = chain[chain.length - 1]!;
    const attribute = (oid: string) => root.subject.rdns.flat().find((a) => a.oid === oid)?.value;
    const organization = attribute(NAME_ATTRIBUTE_OID.O);
    const commonName = attribute(NAME_ATTRIBUTE_OID.CN);
    return {
      subject: {
        ...(organization !== undefined ? { organization } : {}),
        ...(commonName !== undefined ? { commonName } : {}),
      },
      uri: `${baseUrl.replace(/\/$/, "")}/api/v1/timestamp`,
      certificates: chain.map((cert) => cert.raw),
    };
  }

  /**
   * Answer a DER `TimeStampReq` with a granted DER `TimeStampResp` (RFC 3161 section 2.4.2).
   * Malformed requests raise `TSA_MALFORMED`, other hashes `TSA_UNSUPPORTED_HASH`, a foreign
   * policy `TSA_UNSUPPORTED_POLICY`.
   */
  async issue(requestBytes: Uint8Array, now: Date = this.#now()): Promise<Bytes> {
    if (requestBytes.length > MAX_TSA_REQUEST_BYTES) {
      throw new CosignError("TSA_MALFORMED", "Timestamp request is too large");
    }
    const request = parseTimestampRequest(requestBytes);
    if (request.policy && request.policy !== OID.SIGSTORE_TSA_POLICY) {
      throw new CosignError(
        "TSA_UNSUPPORTED_POLICY",
        `Unsupported timestamp policy "${request.policy}"`,
      );
    }
    const leaf = this.#chain[0]!;
    const tstInfo = derSequence(
      derInteger(1),
      derOid(OID.SIGSTORE_TSA_POLICY),
      derSequence(
        derSequence(derOid(HASH_OID[request.hash]), derNull()),
        derOctetString(request.hashedMessage),
      ),
      derInteger(randomSerial()),
      // Whole seconds: @sigstore/core reads a fraction only when it has exactly three digits,
      // and RFC 3161 drops trailing zeros, so ".12Z" would be refused there.
      derGeneralizedTime(new Date(Math.floor(now.getTime() / 1000) * 1000)),
      derSequence(derInteger(1)), // accuracy: one second
      ...(request.nonce !== undefined ? [encodeSignedInteger(request.nonce)] : []),
      derContext(0, true, derContext(4, true, leaf.subject.raw)),
    );
    const { algorithm, hash } = signatureAlgorithmFor(this.#signer.publicKey);
    const hashAlgorithm = derSequence(derOid(HASH_OID[hash]));
    const attribute = (oid: string, value: Uint8Array) => derSequence(derOid(oid), derSet(value));
    // RFC 5035: ESSCertIDv2 (SHA-256, the default) binds the signing certificate.
    const essCertId = derSequence(
      derSequence(derSequence(
        derOctetString(digest("sha256", leaf.raw)),
        derSequence(
          derSequence(derContext(4, true, leaf.issuer.raw)),
          encodeTlv(0x02, leaf.serialBytes),
        ),
      )),
    );
    const signedAttributes = derSet(
      attribute(OID.CONTENT_TYPE, derOid(OID.TST_INFO)),
      attribute(OID.SIGNING_TIME, derTime(now)),
      attribute(OID.MESSAGE_DIGEST, derOctetString(digest(hash, tstInfo))),
      attribute(OID.SIGNING_CERTIFICATE_V2, essCertId),
    );
    const signature = await this.#signer.sign(signedAttributes, { hash });
    const signerInfo = derSequence(
      derInteger(1),
      derSequence(leaf.issuer.raw, encodeTlv(0x02, leaf.serialBytes)),
      hashAlgorithm,
      concat(Uint8Array.of(0xa0), signedAttributes.subarray(1)),
      algorithm,
      derOctetString(signature),
    );
    const certificates = request.certReq
      ? [derContext(0, true, ...this.#chain.slice(0, -1).map((cert) => cert.raw))]
      : [];
    const signedData = derSequence(
      derInteger(3),
      derSet(hashAlgorithm),
      derSequence(derOid(OID.TST_INFO), derContext(0, true, derOctetString(tstInfo))),
      ...certificates,
      derSet(signerInfo),
    );
    const token = derSequence(derOid(OID.SIGNED_DATA), derContext(0, true, signedData));
    return derSequence(derSequence(derInteger(0)), token);
  }
}

/** A request nonce is echoed as the same INTEGER, negative values included. */
function encodeSignedInteger(value: bigint): Bytes {
  if (value >= 0n) return derInteger(value);
  let length = 1;
  while (value < -(1n << BigInt(8 * length - 1))) length++;
  const twos = (1n << BigInt(8 * length)) + value;
  return encodeTlv(0x02, Uint8Array.fromHex(twos.toString(16).padStart(2 * length, "0")));
}
