/**
 * The embedded Fulcio's certificate authority: a P-384 root (10 years) and intermediate
 * (5 years, EKU codeSigning, as Fulcio's), a CT log key (ECDSA P-256), and leaves with Fulcio's
 * profile (cosign-spec.md section 7.2): empty subject, critical SAN, digitalSignature, EKU
 * codeSigning, SKI/AKI, the 57264.1.* extensions, 10 minutes of validity, and an embedded SCT
 * (section 7.3). The SCT is made the RFC 6962 way: the precertificate (with the poison) is signed
 * by the CT log key, then the poison is replaced by the SCT list and the leaf signed again.
 *
 * The root key signs the intermediate once and is then dropped: only the intermediate and CT log
 * keys are kept (and persisted by `toJSON`).
 *
 * @module
 */

import { fromBase64, toBase64 } from "../../lib/util/bytes.ts";
import { encodePem } from "../../lib/util/pem.ts";
import {
  createIntermediateCertificate,
  createLeafCertificate,
  createRootCertificate,
  finalizePrecertificate,
  fulcioExtension,
  type SanInput,
} from "./certificate_builder.ts";
import { CosignError, errorMessage } from "../../lib/errors.ts";
import { generateKeyPair, PrivateKey } from "../../lib/keys/private_key.ts";
import { createEmbeddedSct } from "../../lib/x509/sct.ts";
import type { PublicKey } from "../../lib/keys/public_key.ts";
import {
  keyDetailsOf,
  type TrustedAuthority,
  type TrustedLog,
} from "../../lib/trust/trusted_root.ts";
import { type Certificate, parseCertificate } from "../../lib/x509/certificate.ts";
import { OID } from "../../lib/x509/oids.ts";

/** Error codes raised here. */
export type CertificateAuthorityErrorCode = "SERVER_CA_STATE";

/** Leaf validity (section 7.2). */
export const LEAF_VALIDITY_MS = 10 * 60_000;
const YEAR_MS = 365 * 24 * 3600_000;

/** The subject names of the embedded CA (the public instance uses O=sigstore.dev). */
const ROOT_NAME = { O: "dcosign", CN: "dcosign-fulcio-root" } as const;
const INTERMEDIATE_NAME = { O: "dcosign", CN: "dcosign-fulcio-intermediate" } as const;

/** Options of `CertificateAuthority.create` and `fromJSON`. */
export interface CertificateAuthorityOptions {
  /** Clock (default `() => new Date()`). */
  readonly now?: () => Date;
}

/** The persisted form. */
export interface CertificateAuthorityJson {
  /** Base64 PKCS#8 of the intermediate's P-384 key. */
  readonly intermediateKey: string;
  /** Base64 PKCS#8 of the CT log's P-256 key. */
  readonly ctLogKey: string;
  /** Base64 DER: intermediate, then root. */
  readonly certificates: readonly string[];
  /** RFC 3339 start of the CT log key's validity. */
  readonly ctLogStart: string;
}

/** What a leaf certifies. */
export interface LeafRequest {
  /** The one SAN. */
  readonly san: SanInput;
  /** Fulcio extensions by OID (text values; the builder picks raw or UTF8String by arc). */
  readonly extensions: Readonly<Record<string, string>>;
}

function floorToSecond(date: Date): Date {
  return new Date(Math.floor(date.getTime() / 1000) * 1000);
}

function oidOrder(oid: string): number {
  return Number(oid.split(".").at(-1));
}

/**
 * A Fulcio-style CA with its CT log.
 *
 * @example Issue a 10-minute leaf with the Fulcio profile and an embedded SCT
 * ```ts
 * import assert from "node:assert/strict";
 * import { generateKeyPair } from "@dcosign/dcosign";
 * import { CertificateAuthority } from "@dcosign/dcosign/server";
 *
 * const ca = await CertificateAuthority.create();
 * const key = await generateKeyPair();
 * const [leaf, intermediate, root] = await ca.issue({
 *   san: { type: "email", value: "dev@example.com" },
 *   extensions: { "1.3.6.1.4.1.57264.1.8": "https://accounts.example.com" }, // OIDC issuer
 * }, key.publicKey);
 * assert.ok(leaf.publicKey.equals(key.publicKey));
 * assert.equal(leaf.subjectAltNames[0]?.value, "dev@example.com");
 * assert.equal(leaf.notAfter.getTime() - leaf.notBefore.getTime(), 10 * 60_000);
 * assert.ok(leaf.sctList); // the embedded SCT, signed by the CA's CT log key
 * const authority = ca.trustedAuthority("https://fulcio.test"); // for the trusted root
 * assert.deepEqual(authority.certificates, [intermediate.raw, root.raw]);
 * ```
 */
export class CertificateAuthority {
  /** The self-signed root (trust anchor). */
  readonly root: Certificate;
  /** The intermediate that signs leaves. */
  readonly intermediate: Certificate;
  /** The CT log's public key. */
  readonly ctLogKey: PublicKey;
  /** When the CT log key starts being valid. */
  readonly ctLogStart: Date;
  readonly #intermediateKey: PrivateKey;
  readonly #ctKey: PrivateKey;
  readonly #now: () => Date;

  private constructor(
    root: Certificate,
    intermediate: Certificate,
    intermediateKey: PrivateKey,
    ctKey: PrivateKey,
    ctLogStart: Date,
    options: CertificateAuthorityOptions,
  ) {
    if (!intermediate.publicKey.equals(intermediateKey.publicKey)) {
      throw new CosignError(
        "SERVER_CA_STATE",
        "The intermediate key does not match its certificate",
      );
    }
    this.root = root;
    this.intermediate = intermediate;
    this.ctLogKey = ctKey.publicKey;
    this.ctLogStart = ctLogStart;
    this.#intermediateKey = intermediateKey;
    this.#ctKey = ctKey;
    this.#now = options.now ?? (() => new Date());
  }

  /** A new CA: fresh P-384 root and intermediate keys, a fresh P-256 CT log key. */
  static async create(options: CertificateAuthorityOptions = {}): Promise<CertificateAuthority> {
    const [rootKey, intermediateKey, ctKey] = await Promise.all([
      generateKeyPair({ kind: "ecdsa-p384" }),
      generateKeyPair({ kind: "ecdsa-p384" }),
      generateKeyPair({ kind: "ecdsa-p256" }),
    ]);
    // A minute of slack so clients whose clock runs slightly behind still see valid CAs.
    const notBefore = new Date(
      floorToSecond((options.now ?? (() => new Date()))()).getTime() - 60_000,
    );
    const root = await createRootCertificate(rootKey, {
      subject: ROOT_NAME,
      notBefore,
      notAfter: new Date(notBefore.getTime() + 10 * YEAR_MS),
      pathLen: 1,
    });
    const intermediate = await createIntermediateCertificate(rootKey, root, {
      subject: INTERMEDIATE_NAME,
      publicKey: intermediateKey.publicKey,
      notBefore,
      notAfter: new Date(notBefore.getTime() + 5 * YEAR_MS),
      pathLen: 0,
      extKeyUsage: [OID.EKU_CODE_SIGNING],
    });
    return new CertificateAuthority(root, intermediate, intermediateKey, ctKey, notBefore, options);
  }

  /** Restore a CA from `toJSON()` output; malformed state raises `SERVER_CA_STATE`. */
  static async fromJSON(
    json: unknown,
    options: CertificateAuthorityOptions = {},
  ): Promise<CertificateAuthority> {
    try {
      const record = json as Partial<CertificateAuthorityJson> | null;
      if (
        typeof record?.intermediateKey !== "string" || typeof record.ctLogKey !== "string" ||
        !Array.isArray(record.certificates) || record.certificates.length !== 2 ||
        typeof record.ctLogStart !== "string"
      ) {
        throw new SyntaxError("expected {intermediateKey, ctLogKey, certificates[2], ctLogStart}");
      }
      const [intermediate, root] = record.certificates.map((c) =>
        parseCertificate(fromBase64(String(c)))
      ) as [Certificate, Certificate];
      const ctLogStart = new Date(record.ctLogStart);
      if (Number.isNaN(ctLogStart.getTime())) throw new SyntaxError("invalid ctLogStart");
      const intermediateKey = await PrivateKey.fromDer(fromBase64(record.intermediateKey), "pkcs8");
      const ctKey = await PrivateKey.fromDer(fromBase64(record.ctLogKey), "pkcs8");
      return new CertificateAuthority(
        root,
        intermediate,
        intermediateKey,
        ctKey,
        ctLogStart,
        options,
      );
    } catch (cause) {
      if (cause instanceof CosignError && cause.code === "SERVER_CA_STATE") throw cause;
      throw new CosignError("SERVER_CA_STATE", `Invalid CA state: ${errorMessage(cause)}`, {
        cause,
      });
    }
  }

  /** Keys and certificates, for `fromJSON`. */
  toJSON(): CertificateAuthorityJson {
    return {
      intermediateKey: toBase64(this.#intermediateKey.toPkcs8()),
      ctLogKey: toBase64(this.#ctKey.toPkcs8()),
      certificates: [toBase64(this.intermediate.raw), toBase64(this.root.raw)],
      ctLogStart: this.ctLogStart.toISOString(),
    };
  }

  /** The CA chain as PEM, intermediate first (`/api/v2/trustBundle`). */
  chainPem(): string[] {
    return [this.intermediate, this.root].map((cert) => encodePem("CERTIFICATE", cert.raw));
  }

  /** The trusted-root `certificateAuthorities` entry; `uri` is Fulcio's base URL. */
  trustedAuthority(uri: string): TrustedAuthority {
    return {
      subject: { organization: ROOT_NAME.O, commonName: ROOT_NAME.CN },
      uri,
      certificates: [this.intermediate.raw, this.root.raw],
      validFor: { start: this.root.notBefore },
    };
  }

  /** The trusted-root `ctlogs` entry of the CT log that signs the embedded SCTs. */
  ctLog(baseUrl: string): TrustedLog {
    return {
      baseUrl,
      logId: this.ctLogKey.fingerprint(),
      key: this.ctLogKey,
      keyDetails: keyDetailsOf(this.ctLogKey),
      validFor: { start: this.ctLogStart },
    };
  }

  /**
   * Issue a leaf for `publicKey` with the Fulcio profile and one embedded SCT. Returns the chain,
   * leaf first, then the intermediate and the root (the order `signingCert` answers in).
   */
  async issue(
    request: LeafRequest,
    publicKey: PublicKey,
    options: { readonly now?: Date } = {},
  ): Promise<[leaf: Certificate, intermediate: Certificate, root: Certificate]> {
    const notBefore = floorToSecond(options.now ?? this.#now());
    const extensions = Object.entries(request.extensions)
      .sort(([a], [b]) => oidOrder(a) - oidOrder(b))
      .map(([oid, value]) => fulcioExtension(oid, value));
    const precertificate = await createLeafCertificate(this.#intermediateKey, this.intermediate, {
      publicKey,
      sans: [request.san],
      extensions,
      notBefore,
      notAfter: new Date(notBefore.getTime() + LEAF_VALIDITY_MS),
      precertificate: true,
    });
    const sct = await createEmbeddedSct(
      this.#ctKey,
      precertificate,
      this.intermediate.publicKey.spki,
      { timestamp: notBefore },
    );
    const leaf = await finalizePrecertificate(this.#intermediateKey, precertificate, [sct]);
    return [leaf, this.intermediate, this.root];
  }
}
