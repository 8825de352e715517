/**
 * The embedded Fulcio's HTTP layer: the v2 API cosign v3 and sigstore-go call (cosign-spec.md
 * section 7.1), and beside it the legacy v1 API cosign 2.x calls (Fulcio `pkg/api/client.go` and
 * `legacy_server.go`, which maps v1 onto v2: same CA, same token and proof checks). State lives in
 * `CertificateAuthority`; token checks in `token_identity.ts`.
 *
 * | route | what |
 * | --- | --- |
 * | `POST /api/v2/signingCert` | token + key + proof of possession (or a PKCS#10 CSR) -> chain with an embedded SCT |
 * | `GET /api/v2/trustBundle` | `{"chains":[{"certificates":[intermediate, root]}]}` |
 * | `GET /api/v2/configuration` | the trusted issuers, audience `sigstore` |
 * | `POST /api/v1/signingCert` | `{"publicKey":{"content","algorithm"},"signedEmailAddress"}` (base64 bytes) + Bearer token -> 201, the PEM chain as `application/pem-certificate-chain`, SCT embedded (empty `SCT` header) |
 * | `GET /api/v1/rootCert` | the PEM chain (intermediate, root) as `application/pem-certificate-chain` |
 *
 * The token comes from `credentials.oidcIdentityToken` or the `Authorization: Bearer` header
 * (sigstore-go sends only the header); when both are sent they must be the same token. Proof of
 * possession is the key's signature (its default hash) over the token's challenge claim; a CSR's
 * self-signature is its proof. Errors are grpc-gateway JSON `{"code", "message", "details"}`:
 * 401 (code 16) for identity failures, 400 (code 3) for bad requests, 500 (code 13) with no
 * detail for anything unexpected. Request bodies are bounded (64 KiB).
 *
 * @module
 */

import { type Context, Hono } from "../_deps.ts";
import { fromBase64, fromUtf8, utf8 } from "../../lib/util/bytes.ts";
import { asOptionalString, asRecord, asString, isRecord } from "../../lib/util/json.ts";
import { decodePem, encodePem } from "../../lib/util/pem.ts";
import { CosignError, errorMessage, isCosignError } from "../../lib/errors.ts";
import { PublicKey, verifySignature } from "../../lib/keys/public_key.ts";
import type { CertificateAuthority } from "./certificate_authority.ts";
import { type TrustedTokenIssuer, verifyFulcioToken } from "./token_identity.ts";
import { verifyCertificationRequest } from "./_pkcs10.ts";
import { readRequestBody } from "../_request_body.ts";

export * from "./certificate_authority.ts";
export * from "./token_identity.ts";

/** Error codes raised here. */
export type FulcioServerErrorCode =
  | "FULCIO_REQUEST_MALFORMED"
  | "FULCIO_KEY_UNSUPPORTED"
  | "FULCIO_PROOF_INVALID"
  | "FULCIO_CSR_INVALID"
  | "FULCIO_NO_TOKEN";

/** Largest `signingCert` request body. */
export const MAX_SIGNING_REQUEST_BYTES = 64 * 1024;
/** The media type of v1 answers (Fulcio `legacy_server.go` `PEMCertificateChain`). */
export const PEM_CERTIFICATE_CHAIN = "application/pem-certificate-chain";
/** Largest public key PEM. */
const MAX_KEY_PEM = 16 * 1024;

/** Options of `fulcioRoutes`. */
export interface FulcioRoutesOptions {
  /** The issuers whose tokens are accepted (`serve`: only its own `OidcIssuer`). */
  readonly issuers: readonly TrustedTokenIssuer[];
  /** Clock (default `() => new Date()`). */
  readonly now?: () => Date;
  /** Allowed clock skew for token times, in seconds (default 60). */
  readonly clockSkewSeconds?: number;
  /** Base URL of GitHub-style workflow identities (default `https://github.com`). */
  readonly githubServerUrl?: string;
  /** Told about unexpected (500) errors. */
  readonly onError?: (error: unknown) => void;
}

function refuse(code: FulcioServerErrorCode, message: string, cause?: unknown): CosignError {
  return new CosignError(code, message, { cause });
}

/** grpc-gateway error body with the gRPC status code. */
function grpcError(c: Context, status: 400 | 401 | 500, message: string) {
  const code = status === 401 ? 16 : status === 400 ? 3 : 13;
  return c.json({ code, message, details: [] }, status);
}

/** Fulcio's key policy: ECDSA P-256/384/521, RSA 2048-4096, Ed25519. */
function checkKey(key: PublicKey): void {
  if (key.kind === "rsa" && (key.rsaBits < 2048 || key.rsaBits > 4096)) {
    throw refuse(
      "FULCIO_KEY_UNSUPPORTED",
      `RSA keys must have 2048 to 4096 bits, not ${key.rsaBits}`,
    );
  }
}

/** The key to certify: from `publicKeyRequest` (PoP over `challenge`) or a CSR. */
async function requestedKey(body: Record<string, unknown>, challenge: string): Promise<PublicKey> {
  const keyRequest = body.publicKeyRequest;
  const csr = body.certificateSigningRequest;
  if ((keyRequest === undefined) === (csr === undefined)) {
    throw refuse(
      "FULCIO_REQUEST_MALFORMED",
      "Send exactly one of publicKeyRequest and certificateSigningRequest",
    );
  }
  if (csr !== undefined) {
    let der;
    try {
      const pem = fromUtf8(fromBase64(asString(csr, "certificateSigningRequest")));
      der = decodePem(pem, ["CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"]).bytes;
    } catch (cause) {
      throw refuse(
        "FULCIO_CSR_INVALID",
        `Invalid certificate signing request: ${errorMessage(cause)}`,
        cause,
      );
    }
    const { publicKey } = await verifyCertificationRequest(der);
    checkKey(publicKey);
    return publicKey;
  }
  let key: PublicKey;
  let proof: Uint8Array;
  try {
    const request = asRecord(keyRequest, "publicKeyRequest");
    const publicKey = asRecord(request.publicKey, "publicKeyRequest.publicKey");
    asOptionalString(publicKey.algorithm, "publicKeyRequest.publicKey.algorithm"); // ignored, as Fulcio
    const content = asString(publicKey.content, "publicKeyRequest.publicKey.content");
    if (content.length > MAX_KEY_PEM) throw new SyntaxError("public key PEM is too large");
    key = PublicKey.fromPem(content);
    proof = fromBase64(asString(request.proofOfPossession, "publicKeyRequest.proofOfPossession"));
  } catch (cause) {
    throw malformedKey("publicKeyRequest", cause);
  }
  return await provenKey(key, proof, challenge);
}

/**
 * The key of a v1 request (Fulcio `pkg/api` `CertificateRequest`): `publicKey.content` is base64
 * of the key bytes, a `PUBLIC KEY` PEM (cosign 2.x) or a DER SubjectPublicKeyInfo (older
 * clients), both accepted as Fulcio's `ParsePublicKey` does; `signedEmailAddress` is base64 of
 * the proof of possession over the token's challenge, as in v2. `algorithm` is ignored, as the
 * legacy server's mapping leaves it unspecified for anything it does not know.
 */
async function requestedKeyV1(
  body: Record<string, unknown>,
  challenge: string,
): Promise<PublicKey> {
  let key: PublicKey;
  let proof: Uint8Array;
  try {
    const publicKey = asRecord(body.publicKey, "publicKey");
    asOptionalString(publicKey.algorithm, "publicKey.algorithm");
    const content = asString(publicKey.content, "publicKey.content");
    if (content.length > MAX_KEY_PEM) throw new SyntaxError("public key is too large");
    const bytes = fromBase64(content);
    // A DER SubjectPublicKeyInfo starts with a SEQUENCE tag; anything else is read as PEM.
    key = bytes[0] === 0x30 ? PublicKey.fromSpki(bytes) : PublicKey.fromPem(fromUtf8(bytes));
    proof = fromBase64(asString(body.signedEmailAddress, "signedEmailAddress"));
  } catch (cause) {
    throw malformedKey("request", cause);
  }
  return await provenKey(key, proof, challenge);
}

function malformedKey(what: string, cause: unknown): CosignError {
  if (isCosignError(cause, "KEY_UNSUPPORTED")) {
    return refuse("FULCIO_KEY_UNSUPPORTED", errorMessage(cause), cause);
  }
  return refuse("FULCIO_REQUEST_MALFORMED", `Invalid ${what}: ${errorMessage(cause)}`, cause);
}

/** Fulcio's key policy, then the proof of possession over `challenge`. */
async function provenKey(
  key: PublicKey,
  proof: Uint8Array,
  challenge: string,
): Promise<PublicKey> {
  checkKey(key);
  // Section 7.1: the key's default hash over the UTF-8 challenge; pure Ed25519 for Ed25519 keys
  // (an Ed25519ph signature does not verify, as in Fulcio).
  if (!(await verifySignature(key, utf8(challenge), proof))) {
    throw refuse(
      "FULCIO_PROOF_INVALID",
      "The proof of possession does not verify: sign the token's email claim (or sub) with the key",
    );
  }
  return key;
}

/** The identity token of a request: body `credentials` or the Bearer header, not two others. */
function tokenOf(body: Record<string, unknown>, authorization: string | undefined): string {
  let fromBody: string | undefined;
  try {
    const credentials = body.credentials === undefined
      ? undefined
      : asRecord(body.credentials, "credentials");
    fromBody = asOptionalString(credentials?.oidcIdentityToken, "credentials.oidcIdentityToken") ||
      undefined;
  } catch (cause) {
    throw refuse("FULCIO_REQUEST_MALFORMED", `Invalid request: ${errorMessage(cause)}`, cause);
  }
  const match = authorization === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  const fromHeader = match?.[1];
  if (fromBody !== undefined && fromHeader !== undefined && fromBody !== fromHeader) {
    throw refuse(
      "FULCIO_REQUEST_MALFORMED",
      "The Bearer token and credentials.oidcIdentityToken differ",
    );
  }
  const token = fromBody ?? fromHeader;
  if (token === undefined) {
    throw refuse("FULCIO_NO_TOKEN", "No identity token: send Authorization: Bearer <OIDC token>");
  }
  return token;
}

/** A request's JSON object body, bounded. */
async function jsonBody(request: Request): Promise<Record<string, unknown>> {
  const bytes = await readRequestBody(request, MAX_SIGNING_REQUEST_BYTES);
  if (!bytes) throw refuse("FULCIO_REQUEST_MALFORMED", "The request body is too large");
  try {
    const json: unknown = JSON.parse(fromUtf8(bytes));
    if (!isRecord(json)) throw new SyntaxError("expected a JSON object");
    return json;
  } catch (cause) {
    throw refuse("FULCIO_REQUEST_MALFORMED", `Invalid request body: ${errorMessage(cause)}`, cause);
  }
}

/**
 * The Fulcio routes: `/api/v2/signingCert`, `/api/v2/trustBundle`, `/api/v2/configuration`, and
 * the legacy `/api/v1/signingCert` and `/api/v1/rootCert`.
 */
export function fulcioRoutes(ca: CertificateAuthority, options: FulcioRoutesOptions): Hono {
  const now = options.now ?? (() => new Date());
  const app = new Hono();
  app.onError((error, c) => {
    if (isCosignError(error)) {
      if (
        error.code.startsWith("OIDC_") || error.code === "FULCIO_EMAIL_UNVERIFIED" ||
        error.code === "FULCIO_NO_TOKEN"
      ) {
        return grpcError(c, 401, error.message);
      }
      if (error.code.startsWith("FULCIO_")) return grpcError(c, 400, error.message);
    }
    options.onError?.(error);
    return grpcError(c, 500, "internal error");
  });
  /** Token, then key and proof, then a chain issued at the time the token was checked. */
  async function issueFor(
    c: Context,
    readKey: (body: Record<string, unknown>, challenge: string) => Promise<PublicKey>,
    token: (body: Record<string, unknown>) => string,
  ) {
    const body = await jsonBody(c.req.raw);
    const time = now();
    const principal = await verifyFulcioToken(token(body), options.issuers, {
      now: time,
      ...(options.clockSkewSeconds !== undefined
        ? { clockSkewSeconds: options.clockSkewSeconds }
        : {}),
      ...(options.githubServerUrl !== undefined
        ? { githubServerUrl: options.githubServerUrl }
        : {}),
    });
    const key = await readKey(body, principal.challenge);
    return await ca.issue(principal, key, { now: time });
  }
  app.post("/api/v2/signingCert", async (c) => {
    const chain = await issueFor(
      c,
      requestedKey,
      (body) => tokenOf(body, c.req.header("authorization")),
    );
    return c.json({
      signedCertificateEmbeddedSct: {
        chain: { certificates: chain.map((cert) => encodePem("CERTIFICATE", cert.raw)) },
      },
    });
  });
  // The legacy API: the token only in the Bearer header (grpc-gateway metadata), 201 Created
  // with the chain as concatenated PEM. The SCT is embedded, so the detached `SCT` header is
  // empty, which cosign 2.x reads as "use the embedded one".
  app.post("/api/v1/signingCert", async (c) => {
    const chain = await issueFor(
      c,
      requestedKeyV1,
      () => tokenOf({}, c.req.header("authorization")),
    );
    return c.body(chain.map((cert) => encodePem("CERTIFICATE", cert.raw)).join(""), 201, {
      "content-type": PEM_CERTIFICATE_CHAIN,
      sct: "",
    });
  });
  app.get(
    "/api/v1/rootCert",
    (c) => c.body(ca.chainPem().join(""), 200, { "content-type": PEM_CERTIFICATE_CHAIN }),
  );
  app.get("/api/v2/trustBundle", (c) => c.json({ chains: [{ certificates: ca.chainPem() }] }));
  app.get("/api/v2/configuration", (c) =>
    c.json({
      issuers: options.issuers.flatMap((issuer) =>
        issuer.issuerUrl === undefined ? [] : [{
          issuerUrl: issuer.issuerUrl,
          audience: "sigstore",
          // Tokens with an email sign it; workflow and URI tokens sign `sub` (section 7.1).
          challengeClaim: "email",
          issuerType: "email",
        }]
      ),
    }));
  return app;
}
