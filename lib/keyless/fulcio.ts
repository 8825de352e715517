/**
 * The Fulcio client (cosign-spec.md section 7): ask for a short-lived signing certificate for a
 * public key and an OIDC identity token, and check what comes back before signing with it.
 *
 * `POST /api/v2/signingCert` carries the token as a Bearer header (and in `credentials`, as cosign
 * v2 did), the PEM public key, and the proof of possession: the key's signature over the token's
 * challenge claim, `email` when present, else `sub` (section 7.1, gotcha 24). 5xx and 429 answers
 * are retried; answers are bounded before they are parsed; redirects are not followed, since the
 * request carries a credential (SECURITY.md rule 9). The leaf must certify the key that was sent
 * (rule 1), and `verifyIssuedCertificate` chains it to the trusted root, verifies its embedded SCT
 * against the trusted root's CT logs (section 7.3) and reads its identity (section 7.4).
 *
 * @example
 * ```ts
 * import { createProofOfPossession, FulcioClient } from "./fulcio.ts";
 * import { generateKeyPair } from "../keys/private_key.ts";
 * const key = await generateKeyPair();
 * const token = Deno.env.get("SIGSTORE_ID_TOKEN")!;
 * const fulcio = new FulcioClient({ baseUrl: "https://fulcio.sigstore.dev" });
 * const issued = await fulcio.signingCertificate({
 *   token,
 *   publicKey: key.publicKey,
 *   proofOfPossession: await createProofOfPossession(key, token),
 * });
 * console.log(issued.leaf.notAfter);
 * ```
 *
 * @module
 */

import { type Bytes, fromBase64, toBase64, utf8 } from "../util/bytes.ts";
import { isRedirect, readErrorText, readJson } from "../util/http_json.ts";
import { asArray, asNonEmptyString, asRecord, isRecord } from "../util/json.ts";
import { CosignError, errorMessage } from "../errors.ts";
import { unverifiedClaims } from "./id_token.ts";
import { type VerifiedSct, verifyEmbeddedScts } from "../x509/sct.ts";
import type { PublicKey, Signer } from "../keys/public_key.ts";
import type { TrustedAuthority, TrustedRoot } from "../trust/trusted_root.ts";
import { type Certificate, parseCertificatePem } from "../x509/certificate.ts";
import { type CertificateIdentity, certificateIdentity } from "../x509/identity.ts";
import { verifyFulcioChain } from "../x509/chain.ts";

/** Error codes raised here. */
export type FulcioErrorCode =
  | "FULCIO_CLOCK_SKEW"
  | "FULCIO_REQUEST_FAILED"
  | "FULCIO_REJECTED"
  | "FULCIO_RESPONSE_MALFORMED"
  | "FULCIO_KEY_MISMATCH";

/** Largest answer read (a chain of three PEM certificates is ~3 KiB). */
const MAX_RESPONSE_BYTES = 256 * 1024;
/** Most certificates a returned chain may hold. */
const MAX_CHAIN_LENGTH = 10;
/** Longest wait honoured from a Retry-After header. */
const MAX_RETRY_AFTER_MS = 10_000;

/** Options of `FulcioClient`. */
export interface FulcioClientOptions {
  /** Fulcio's base URL (`https://fulcio.sigstore.dev`); `/api/v2/...` is appended. */
  readonly baseUrl: string;
  /** HTTP client (default `globalThis.fetch`). */
  readonly fetch?: typeof fetch;
  /** Attempts for network errors, 5xx and 429 answers (default 3). */
  readonly attempts?: number;
  /** First retry delay in milliseconds, doubled each time (default 250). */
  readonly retryDelayMs?: number;
}

/** A certificate request: the key and its proof of possession, or a PKCS#10 CSR. */
export type SigningCertificateRequest =
  | {
    /** The OIDC identity token (audience `sigstore`). */
    readonly token: string;
    /** The key to certify. */
    readonly publicKey: PublicKey;
    /** The key's signature over the token's challenge (`createProofOfPossession`). */
    readonly proofOfPossession: Uint8Array;
  }
  | {
    readonly token: string;
    /** The key the CSR holds; the leaf must certify it. */
    readonly publicKey: PublicKey;
    /** A PEM `CERTIFICATE REQUEST` signed by the key (its signature is the proof). */
    readonly csrPem: string;
  };

/** What Fulcio issued. */
export interface IssuedCertificate {
  /** The leaf (`certificates[0]`). */
  readonly leaf: Certificate;
  /** Every returned certificate, leaf first (intermediates, then usually the root). */
  readonly chain: readonly Certificate[];
  /** The same certificates as the PEM Fulcio sent. */
  readonly chainPem: readonly string[];
  /** For `signedCertificateDetachedSct` answers: the SCT (base64-decoded AddChainResponse). */
  readonly detachedSct?: Bytes;
}

/** The algorithm label Fulcio's API expects for a key (the server infers it anyway). */
function algorithmOf(key: PublicKey): string {
  return key.kind === "rsa" ? "RSA_PSS" : key.kind === "ed25519" ? "ED25519" : "ECDSA";
}

/**
 * The proof of possession for `token`: `signer`'s signature (its default hash, DER for ECDSA)
 * over the UTF-8 challenge claim, `email` when present, else `sub` (section 7.1).
 */
export async function createProofOfPossession(signer: Signer, token: string): Promise<Bytes> {
  return await signer.sign(utf8(unverifiedClaims(token).challenge));
}

/** A Fulcio v2 client. */
export class FulcioClient {
  readonly #base: string;
  readonly #fetch: typeof fetch;
  readonly #attempts: number;
  readonly #retryDelayMs: number;

  /** A client for the Fulcio at `options.baseUrl`; a bad URL throws `TypeError`. */
  constructor(options: FulcioClientOptions) {
    let url: URL;
    try {
      url = new URL(options.baseUrl);
    } catch (cause) {
      throw new TypeError(`Invalid Fulcio URL "${options.baseUrl}"`, { cause });
    }
    if (url.protocol !== "https:" && url.protocol !== "http:") {
      throw new TypeError(`Invalid Fulcio URL "${options.baseUrl}": not http(s)`);
    }
    const attempts = options.attempts ?? 3;
    if (!Number.isSafeInteger(attempts) || attempts < 1 || attempts > 10) {
      throw new RangeError("Fulcio attempts must be an integer from 1 to 10");
    }
    this.#base = options.baseUrl.replace(/\/+$/, "");
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#attempts = attempts;
    this.#retryDelayMs = options.retryDelayMs ?? 250;
  }

  /**
   * Request a signing certificate (`POST /api/v2/signingCert`). The leaf must certify
   * `request.publicKey` (`FULCIO_KEY_MISMATCH` otherwise); a refusal raises `FULCIO_REJECTED`
   * with Fulcio's message, an unreadable answer `FULCIO_RESPONSE_MALFORMED`.
   */
  async signingCertificate(request: SigningCertificateRequest): Promise<IssuedCertificate> {
    const body = "csrPem" in request
      ? {
        credentials: { oidcIdentityToken: request.token },
        certificateSigningRequest: toBase64(utf8(request.csrPem)),
      }
      : {
        credentials: { oidcIdentityToken: request.token },
        publicKeyRequest: {
          publicKey: {
            algorithm: algorithmOf(request.publicKey),
            content: request.publicKey.toPem(),
          },
          proofOfPossession: toBase64(request.proofOfPossession),
        },
      };
    const json = await this.#call("POST", "/api/v2/signingCert", {
      body: JSON.stringify(body),
      headers: {
        authorization: `Bearer ${request.token}`,
        "content-type": "application/json",
      },
    });
    const issued = parseSigningCertificateResponse(json);
    if (!issued.leaf.publicKey.equals(request.publicKey)) {
      throw new CosignError(
        "FULCIO_KEY_MISMATCH",
        "Fulcio returned a certificate for another public key than the one sent",
      );
    }
    return issued;
  }

  /** The CA chains Fulcio issues under (`GET /api/v2/trustBundle`), each leaf-most first. */
  async trustBundle(): Promise<Certificate[][]> {
    const json = await this.#call("GET", "/api/v2/trustBundle", {});
    try {
      const chains = asArray(asRecord(json, "trustBundle").chains, "chains", MAX_CHAIN_LENGTH);
      return chains.map((chain, i) =>
        parsePemChain(asRecord(chain, `chains[${i}]`), `chains[${i}]`).certs
      );
    } catch (cause) {
      throw malformedResponse(cause);
    }
  }

  async #call(
    method: string,
    path: string,
    init: { body?: string; headers?: Record<string, string> },
  ): Promise<unknown> {
    const url = `${this.#base}${path}`;
    let last = "";
    for (let attempt = 1; attempt <= this.#attempts; attempt++) {
      let response: Response;
      try {
        response = await this.#fetch(url, {
          method,
          redirect: "manual",
          headers: { accept: "application/json", ...init.headers },
          ...(init.body !== undefined ? { body: init.body } : {}),
        });
      } catch (cause) {
        last = errorMessage(cause);
        if (attempt < this.#attempts) await sleep(this.#retryDelayMs * 2 ** (attempt - 1));
        continue;
      }
      if (response.status >= 500 || response.status === 429) {
        last = `${response.status} ${await fulcioMessage(response)}`.trim();
        if (attempt < this.#attempts) {
          await sleep(retryAfter(response) ?? this.#retryDelayMs * 2 ** (attempt - 1));
        }
        continue;
      }
      if (response.status !== 200 && response.status !== 201) {
        const detail = isRedirect(response.status)
          ? "a redirect (not followed)"
          : await fulcioMessage(response);
        throw new CosignError(
          "FULCIO_REJECTED",
          `Fulcio refused ${method} "${url}" with ${response.status}: ${detail}`,
        );
      }
      try {
        return await readJson(response, MAX_RESPONSE_BYTES, "Fulcio answer");
      } catch (cause) {
        throw malformedResponse(cause);
      }
    }
    throw new CosignError(
      "FULCIO_REQUEST_FAILED",
      `Cannot reach Fulcio at "${url}" after ${this.#attempts} attempt(s): ${last}`,
    );
  }
}

function malformedResponse(cause: unknown): CosignError {
  return new CosignError(
    "FULCIO_RESPONSE_MALFORMED",
    `Invalid Fulcio answer: ${errorMessage(cause)}`,
    { cause },
  );
}

/** The `message` of a Fulcio (grpc-gateway) error body, or its text. */
async function fulcioMessage(response: Response): Promise<string> {
  const text = await readErrorText(response);
  try {
    const json: unknown = JSON.parse(text);
    if (isRecord(json) && typeof json.message === "string") return json.message.slice(0, 300);
  } catch {
    // not JSON: the text itself
  }
  return text;
}

function retryAfter(response: Response): number | undefined {
  const value = response.headers.get("retry-after")?.trim();
  if (!value || !/^\d{1,6}$/.test(value)) return undefined;
  return Math.min(Number(value) * 1000, MAX_RETRY_AFTER_MS);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function parsePemChain(
  record: Record<string, unknown>,
  path: string,
): { certs: Certificate[]; pem: string[] } {
  const chain = asRecord(record, path);
  const pem = asArray(chain.certificates, `${path}.certificates`, MAX_CHAIN_LENGTH).map((c, i) =>
    asNonEmptyString(c, `${path}.certificates[${i}]`)
  );
  if (pem.length === 0) throw new SyntaxError(`${path}.certificates: empty`);
  return { certs: pem.map((text) => parseCertificatePem(text)), pem };
}

/**
 * Parse a `signingCert` answer: `signedCertificateEmbeddedSct.chain` or
 * `signedCertificateDetachedSct.{chain, signedCertificateTimestamp}` (section 7.1).
 */
export function parseSigningCertificateResponse(json: unknown): IssuedCertificate {
  try {
    const record = asRecord(json, "response");
    const embedded = record.signedCertificateEmbeddedSct;
    const detached = record.signedCertificateDetachedSct;
    if ((embedded === undefined) === (detached === undefined)) {
      throw new SyntaxError(
        "expected one of signedCertificateEmbeddedSct, signedCertificateDetachedSct",
      );
    }
    const outer = asRecord(embedded ?? detached, "signedCertificate");
    const { certs, pem } = parsePemChain(asRecord(outer.chain, "chain"), "chain");
    const sct = detached === undefined ? undefined : fromBase64(
      asNonEmptyString(outer.signedCertificateTimestamp, "signedCertificateTimestamp"),
    );
    return {
      leaf: certs[0]!,
      chain: certs,
      chainPem: pem,
      ...(sct ? { detachedSct: sct } : {}),
    };
  } catch (cause) {
    throw malformedResponse(cause);
  }
}

/**
 * How far the CA's clock may be from ours, either way, when a certificate it just issued is
 * checked (`issuedCertificateTime`): more than hosts synchronised by NTP drift apart, far less
 * than a Fulcio leaf's ten minutes of validity.
 */
export const MAX_CA_CLOCK_SKEW_MS = 30_000;

/**
 * The time to check a certificate Fulcio just issued at: its `notBefore`, the moment the CA says
 * it issued it, which is inside its validity whatever the two clocks say. Checking at a local time
 * instead fails whenever the CA's clock runs ahead of ours, even by the second its `notBefore` is
 * rounded to. The `notBefore` must lie in the request's window, `requested` to `received` by the
 * local clock, widened by `maxSkewMs` both ways (and by the second X.509 times truncate to): a
 * CA clock further off than that is refused as `FULCIO_CLOCK_SKEW`, saying by how much, since a
 * signature made with its certificate would not verify against the log's time.
 */
export function issuedCertificateTime(
  leaf: Pick<Certificate, "notBefore">,
  requested: Date,
  received: Date,
  maxSkewMs: number = MAX_CA_CLOCK_SKEW_MS,
): Date {
  if (!(maxSkewMs >= 0)) throw new RangeError("maxSkewMs must be a non-negative number");
  const notBefore = leaf.notBefore;
  const earliest = requested.getTime() - maxSkewMs - 1000;
  const latest = received.getTime() + maxSkewMs;
  const at = notBefore.getTime();
  if (at < earliest || at > latest) {
    const off = at < earliest ? requested.getTime() - at : at - received.getTime();
    throw new CosignError(
      "FULCIO_CLOCK_SKEW",
      `The Fulcio certificate's notBefore "${notBefore.toISOString()}" is ${
        Math.round(off / 1000)
      } s ${at < earliest ? "behind" : "ahead of"} the local clock (at most ${
        Math.round(maxSkewMs / 1000)
      } s is tolerated): check the clock of this host and of the CA`,
    );
  }
  return notBefore;
}

/** Options of `verifyIssuedCertificate`. */
export interface IssuedCertificateCheckOptions {
  /** The key that was sent: the leaf must certify it. */
  readonly publicKey?: PublicKey;
  /**
   * Time the chain must be valid at (default now). For a certificate just issued, pass
   * `issuedCertificateTime(...)`: a local time taken around the request may precede `notBefore`.
   */
  readonly now?: Date;
  /** Distinct CT logs whose SCTs must verify (default 1; 0 skips, `--insecure-ignore-sct`). */
  readonly sctThreshold?: number;
}

/** A checked Fulcio certificate. */
export interface CheckedCertificate {
  /** The verified path, leaf first, ending in the trusted root's anchor. */
  readonly chain: readonly Certificate[];
  /** The trusted-root CA the chain ends in. */
  readonly authority: TrustedAuthority;
  /** One verified SCT per distinct CT log (empty when the threshold is 0). */
  readonly scts: readonly VerifiedSct[];
  /** SAN, issuer (either OID form) and the other Fulcio extensions. */
  readonly identity: CertificateIdentity;
}

/**
 * Check a certificate Fulcio issued before signing with it, as cosign does: it certifies the key
 * sent, chains to a trusted-root CA at `now` (returned intermediates help, never as anchors), and
 * its embedded SCT verifies against the trusted root's CT logs over the rebuilt precertificate.
 */
export async function verifyIssuedCertificate(
  issued: Pick<IssuedCertificate, "leaf" | "chain">,
  trustedRoot: Pick<TrustedRoot, "certificateAuthorities" | "ctlogs">,
  options: IssuedCertificateCheckOptions = {},
): Promise<CheckedCertificate> {
  if (options.publicKey && !issued.leaf.publicKey.equals(options.publicKey)) {
    throw new CosignError(
      "FULCIO_KEY_MISMATCH",
      "The Fulcio certificate certifies another public key than the signing key",
    );
  }
  const { chain, authority } = await verifyFulcioChain(
    issued.leaf,
    trustedRoot,
    [options.now ?? new Date()],
    { intermediates: issued.chain.slice(1) },
  );
  const threshold = options.sctThreshold ?? 1;
  const issuer = chain[1];
  if (threshold > 0 && !issuer) {
    throw malformedResponse(new Error("the certificate is its own trust anchor"));
  }
  const scts = threshold === 0
    ? []
    : await verifyEmbeddedScts(issued.leaf, issuer!, trustedRoot.ctlogs, { threshold });
  return { chain, authority, scts, identity: certificateIdentity(issued.leaf) };
}
