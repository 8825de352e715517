/**
 * Certificate path validation (RFC 5280 section 6, as Go's `crypto/x509` applies it) and the
 * Sigstore CA helper (cosign-spec.md sections 8.1, 9.2 step 3, 9.3 step 6).
 *
 * Anchors come only from the caller's `roots` (the trusted root), never from supplied material
 * (SECURITY.md rule 7). Every certificate of the path must be valid at every given time
 * (SECURITY.md row 8, rule 6). Verified issuer -> child signatures are cached in a bounded map
 * keyed by a hash of the issuer key and the child's raw bytes: P-384 verification costs ~2 ms in
 * Deno, and the same Fulcio intermediate signs every leaf. Which algorithm a signature uses, and
 * how it verifies, is `lib/x509/algorithms.ts`.
 *
 * @module
 */

import { type Bytes, concat, equalBytes, sha256, toHex } from "../util/bytes.ts";
import { CosignError, errorMessage } from "../errors.ts";
import { isWithin, type TrustedAuthority, type TrustedRoot } from "../trust/trusted_root.ts";
import { type Certificate, parseCertificate } from "./certificate.ts";
import { FULCIO_ARC, OID } from "./oids.ts";
import { verifyAlgorithmSignature } from "./algorithms.ts";

/** Error codes raised by chain verification. */
export type X509ChainErrorCode =
  | "X509_NO_CHAIN"
  | "X509_OUTSIDE_VALIDITY"
  | "X509_BAD_SIGNATURE"
  | "X509_NOT_CA"
  | "X509_PATH_LENGTH"
  | "X509_KEY_USAGE"
  | "X509_EXT_KEY_USAGE"
  | "X509_LEAF_IS_CA"
  | "X509_ISSUER_MISMATCH"
  | "X509_CRITICAL_EXTENSION"
  | "X509_UNSUPPORTED_ALGORITHM"
  | "X509_TOO_MANY_CERTIFICATES"
  | "X509_NO_TRUSTED_CA";

/** Most certificates in a path, and most candidate intermediates a caller may supply. */
const MAX_PATH_LENGTH = 8;
const MAX_INTERMEDIATES = 32;
/** Most cached signature results. */
const MAX_CACHE_ENTRIES = 4096;

// ---------------------------------------------------------------------------------------------
// Signature cache

const signatureCache = new Map<string, true>();

/** Forget every cached issuer -> child signature result (benchmarks and tests). */
export function clearCertificateSignatureCache(): void {
  signatureCache.clear();
}

/** True when `issuer`'s key signed `child` (cached when `useCache`). */
export async function isSignedBy(
  child: Certificate,
  issuer: Certificate,
  useCache = true,
): Promise<boolean> {
  const key = useCache ? toHex(sha256(concat(issuer.publicKey.spki, child.raw))) : "";
  if (useCache && signatureCache.has(key)) return true;
  const ok = await verifyAlgorithmSignature(issuer.publicKey, child.tbs, child.signature, {
    oid: child.signatureAlgorithm,
    ...(child.signatureParameters ? { parameters: child.signatureParameters } : {}),
  });
  if (ok && useCache) {
    if (signatureCache.size >= MAX_CACHE_ENTRIES) {
      signatureCache.delete(signatureCache.keys().next().value!);
    }
    signatureCache.set(key, true);
  }
  return ok;
}

// ---------------------------------------------------------------------------------------------
// Path validation

/** Options of `verifyCertificateChain`. */
export interface ChainOptions {
  /** Trust anchors: only from the trusted root. */
  readonly roots: readonly Certificate[];
  /** Untrusted certificates that may complete the path (a bundle's chain, a CMS bag). */
  readonly intermediates?: readonly Certificate[];
  /** The time every certificate must be valid at (use `times` for several). */
  readonly time?: Date;
  /** Every time every certificate must be valid at (SECURITY.md row 8). */
  readonly times?: readonly Date[];
  /**
   * Require the Fulcio leaf profile: EKU codeSigning, the digitalSignature key usage, not a CA,
   * and agreeing OIDC issuer extensions.
   */
  readonly requireCodeSigning?: boolean;
  /** Require EKU timeStamping, alone and critical, on the leaf (RFC 3161 section 2.3). */
  readonly requireTimeStamping?: boolean;
  /** Use the signature cache (default true). */
  readonly cache?: boolean;
}

// Extensions whose semantics we apply or that carry no constraint (Go's handled set).
const HANDLED_EXTENSIONS = new Set<string>([
  OID.BASIC_CONSTRAINTS,
  OID.KEY_USAGE,
  OID.EXT_KEY_USAGE,
  OID.SUBJECT_KEY_ID,
  OID.AUTHORITY_KEY_ID,
  OID.SUBJECT_ALT_NAME,
]);

function fail(code: X509ChainErrorCode, message: string): CosignError {
  return new CosignError(code, message);
}

function describe(cert: Certificate): string {
  return cert.subject.text || cert.subjectAltNames[0]?.value || `serial ${cert.serial}`;
}

function checkValidity(cert: Certificate, times: readonly Date[]): CosignError | undefined {
  for (const time of times) {
    const t = time.getTime();
    if (t < cert.notBefore.getTime() || t > cert.notAfter.getTime()) {
      return fail(
        "X509_OUTSIDE_VALIDITY",
        `Certificate "${
          describe(cert)
        }" is not valid at "${time.toISOString()}" (valid from "${cert.notBefore.toISOString()}" to "${cert.notAfter.toISOString()}")`,
      );
    }
  }
  return undefined;
}

function checkCriticalExtensions(cert: Certificate): CosignError | undefined {
  for (const ext of cert.extensions) {
    if (ext.critical && !HANDLED_EXTENSIONS.has(ext.oid)) {
      return fail(
        "X509_CRITICAL_EXTENSION",
        `Certificate "${describe(cert)}" has an unhandled critical extension "${ext.oid}"`,
      );
    }
  }
  return undefined;
}

/** Go's EKU nesting: an issuer that restricts EKUs must allow the one the leaf is used for. */
function allowsUsage(cert: Certificate, usage: string | undefined): boolean {
  if (!usage || !cert.extKeyUsage) return true;
  return cert.extKeyUsage.includes(usage) || cert.extKeyUsage.includes(OID.EKU_ANY);
}

/**
 * The Fulcio leaf profile (cosign-spec.md section 7.2; Fulcio issues nothing else): not a CA,
 * the digitalSignature key usage, the codeSigning EKU, and the OIDC issuer of the deprecated
 * extension .1 equal to that of .8 when both are present (two issuers in one certificate would
 * let the legacy and the current readers see different identities).
 */
function checkCodeSigningLeaf(leaf: Certificate): CosignError | undefined {
  const name = describe(leaf);
  if (leaf.basicConstraints?.cA) {
    return fail("X509_LEAF_IS_CA", `Signing certificate "${name}" is a CA certificate (CA:TRUE)`);
  }
  if (!leaf.keyUsage?.includes("digitalSignature")) {
    return fail(
      "X509_KEY_USAGE",
      `Signing certificate "${name}" lacks the digitalSignature key usage`,
    );
  }
  if (!leaf.extKeyUsage?.includes(OID.EKU_CODE_SIGNING)) {
    return fail("X509_EXT_KEY_USAGE", `Certificate "${name}" is not for code signing`);
  }
  const v1 = leaf.fulcio[`${FULCIO_ARC}1`];
  const v2 = leaf.fulcio[`${FULCIO_ARC}8`];
  if (v1 !== undefined && v2 !== undefined && v1 !== v2) {
    return fail(
      "X509_ISSUER_MISMATCH",
      `Signing certificate "${name}" names two OIDC issuers: "${
        v1.slice(0, 200)
      }" (${FULCIO_ARC}1) and "${v2.slice(0, 200)}" (${FULCIO_ARC}8)`,
    );
  }
  return undefined;
}

function checkLeafUsage(leaf: Certificate, options: ChainOptions): CosignError | undefined {
  if (options.requireCodeSigning) {
    const problem = checkCodeSigningLeaf(leaf);
    if (problem) return problem;
  }
  if (options.requireTimeStamping) {
    const ext = leaf.extensions.find((e) => e.oid === OID.EXT_KEY_USAGE);
    const ekus = leaf.extKeyUsage ?? [];
    if (!ext?.critical || ekus.length !== 1 || ekus[0] !== OID.EKU_TIME_STAMPING) {
      return fail(
        "X509_EXT_KEY_USAGE",
        `Certificate "${describe(leaf)}" does not have the sole critical EKU timeStamping`,
      );
    }
  }
  return undefined;
}

/** Constraints on `issuer` as the signer of `child` at depth `index` (the leaf is 0). */
async function checkIssuer(
  issuer: Certificate,
  child: Certificate,
  path: readonly Certificate[],
  usage: string | undefined,
  options: ChainOptions,
  times: readonly Date[],
): Promise<CosignError | undefined> {
  const name = describe(issuer);
  if (issuer.version === 3 && !issuer.basicConstraints?.cA) {
    return fail("X509_NOT_CA", `Certificate "${name}" is not a CA but issued "${describe(child)}"`);
  }
  if (issuer.keyUsage && !issuer.keyUsage.includes("keyCertSign")) {
    return fail("X509_KEY_USAGE", `CA certificate "${name}" lacks the keyCertSign key usage`);
  }
  // RFC 5280 section 4.2.1.9: pathLen counts the non-leaf certificates below the issuer.
  const pathLen = issuer.basicConstraints?.pathLen;
  const below = path.length - 1;
  if (pathLen !== undefined && below > pathLen) {
    return fail(
      "X509_PATH_LENGTH",
      `CA certificate "${name}" allows ${pathLen} intermediates below it, the path has ${below}`,
    );
  }
  if (!allowsUsage(issuer, usage)) {
    return fail("X509_EXT_KEY_USAGE", `CA certificate "${name}" does not allow EKU "${usage}"`);
  }
  const invalid = checkValidity(issuer, times) ?? checkCriticalExtensions(issuer);
  if (invalid) return invalid;
  if (!(await isSignedBy(child, issuer, options.cache ?? true))) {
    return fail(
      "X509_BAD_SIGNATURE",
      `Signature of certificate "${describe(child)}" does not verify with the key of "${name}"`,
    );
  }
  return undefined;
}

/**
 * Verify `leaf` up to one of `options.roots` and return the path, leaf first, anchor last. Every
 * certificate must be valid at every time given; issuers must be CAs with keyCertSign (when
 * key usage is present) within their pathLen; a critical extension we do not handle fails.
 * Throws a `CosignError` naming the reason (`X509_OUTSIDE_VALIDITY`, `X509_NOT_CA`, ...).
 */
export async function verifyCertificateChain(
  leaf: Certificate,
  options: ChainOptions,
): Promise<Certificate[]> {
  const times = [...(options.time ? [options.time] : []), ...(options.times ?? [])];
  if (times.length === 0) throw new TypeError("verifyCertificateChain() needs at least one time");
  if (options.roots.length === 0) {
    throw fail("X509_NO_CHAIN", "No trust anchors to verify the certificate against");
  }
  const intermediates = options.intermediates ?? [];
  if (intermediates.length > MAX_INTERMEDIATES) {
    throw fail("X509_TOO_MANY_CERTIFICATES", `More than ${MAX_INTERMEDIATES} intermediates`);
  }
  const usage = options.requireTimeStamping
    ? OID.EKU_TIME_STAMPING
    : options.requireCodeSigning
    ? OID.EKU_CODE_SIGNING
    : undefined;
  const leafProblem = checkValidity(leaf, times) ?? checkCriticalExtensions(leaf) ??
    checkLeafUsage(leaf, options);
  if (leafProblem) throw leafProblem;
  // A leaf that is itself an anchor (a one-certificate TSA chain) is trusted as it is.
  if (options.roots.some((root) => equalBytes(root.raw, leaf.raw))) return [leaf];

  let lastError: CosignError | undefined;
  const extend = async (path: Certificate[]): Promise<Certificate[] | undefined> => {
    const child = path[path.length - 1]!;
    const candidates = [
      ...options.roots.map((cert) => ({ cert, anchor: true })),
      ...intermediates.map((cert) => ({ cert, anchor: false })),
    ].filter(({ cert }) =>
      equalBytes(cert.subject.raw, child.issuer.raw) &&
      !path.some((p) => equalBytes(p.raw, cert.raw))
    );
    // Prefer the issuer whose subject key ID matches the child's authority key ID.
    const matches = (cert: Certificate) =>
      child.authorityKeyId && cert.subjectKeyId &&
      equalBytes(child.authorityKeyId, cert.subjectKeyId);
    candidates.sort((a, b) =>
      Number(b.anchor) - Number(a.anchor) || Number(matches(b.cert)) - Number(matches(a.cert))
    );
    for (const { cert, anchor } of candidates) {
      const problem = await checkIssuer(cert, child, path, usage, options, times);
      if (problem) {
        lastError = problem;
        continue;
      }
      if (anchor) return [...path, cert];
      if (path.length + 1 >= MAX_PATH_LENGTH) {
        lastError = fail("X509_NO_CHAIN", `Certificate path longer than ${MAX_PATH_LENGTH}`);
        continue;
      }
      const found = await extend([...path, cert]);
      if (found) return found;
    }
    return undefined;
  };
  const chain = await extend([leaf]);
  if (chain) return chain;
  throw lastError ??
    fail(
      "X509_NO_CHAIN",
      `No trusted issuer "${leaf.issuer.text}" found for certificate "${describe(leaf)}"`,
    );
}

// ---------------------------------------------------------------------------------------------
// Sigstore certificate authorities (trusted_root.json certificateAuthorities)

const parsedAuthorityCerts = new WeakMap<readonly Bytes[], Certificate[]>();

/** The parsed certificates of a trusted-root authority (cached per authority). */
export function authorityCertificates(authority: TrustedAuthority): Certificate[] {
  let certs = parsedAuthorityCerts.get(authority.certificates);
  if (!certs) {
    certs = authority.certificates.map((der) => parseCertificate(der));
    parsedAuthorityCerts.set(authority.certificates, certs);
  }
  return certs;
}

/** A verified path and the trusted-root authority it ends in. */
export interface AuthorityChain {
  readonly chain: Certificate[];
  readonly authority: TrustedAuthority;
}

/** Options of `verifyAuthorityChain`. */
export interface AuthorityChainOptions {
  /** Untrusted intermediates supplied with the leaf (a bundle's or CMS token's certificates). */
  readonly intermediates?: readonly Certificate[];
  readonly requireCodeSigning?: boolean;
  readonly requireTimeStamping?: boolean;
  readonly cache?: boolean;
}

/**
 * Verify `leaf` against each authority whose `validFor` contains every time (closed interval)
 * and return the first that verifies. Its certificates supply the intermediates (all but the
 * last) and the one anchor (the last). An authority with a `problem` never verifies.
 */
export async function verifyAuthorityChain(
  leaf: Certificate,
  authorities: readonly TrustedAuthority[],
  times: readonly Date[],
  options: AuthorityChainOptions = {},
): Promise<AuthorityChain> {
  if (times.length === 0) throw new TypeError("verifyAuthorityChain() needs at least one time");
  const reasons: string[] = [];
  for (const authority of authorities) {
    const label = authority.uri || authority.subject.commonName || "authority";
    if (authority.problem) {
      reasons.push(`"${label}" is unusable: ${authority.problem}`);
      continue;
    }
    const outside = times.find((time) => !isWithin(authority.validFor, time));
    if (outside) {
      reasons.push(`"${label}" is not valid at "${outside.toISOString()}"`);
      continue;
    }
    try {
      const certs = authorityCertificates(authority);
      const chain = await verifyCertificateChain(leaf, {
        ...options,
        roots: certs.slice(-1),
        intermediates: [...certs.slice(0, -1), ...(options.intermediates ?? [])],
        times,
      });
      return { chain, authority };
    } catch (error) {
      reasons.push(`"${label}": ${errorMessage(error)}`);
    }
  }
  throw new CosignError(
    "X509_NO_TRUSTED_CA",
    `No trusted authority verifies certificate "${describe(leaf)}": ${
      reasons.join("; ") || "the trusted root lists none"
    }`,
  );
}

/**
 * Verify a Fulcio leaf against the trusted root's certificate authorities at every given time
 * (integrated time, TSA times), requiring EKU codeSigning (cosign-spec.md section 9.2 step 3).
 */
export function verifyFulcioChain(
  leaf: Certificate,
  trustedRoot: Pick<TrustedRoot, "certificateAuthorities">,
  times: readonly Date[],
  options: Omit<AuthorityChainOptions, "requireCodeSigning" | "requireTimeStamping"> = {},
): Promise<AuthorityChain> {
  return verifyAuthorityChain(leaf, trustedRoot.certificateAuthorities, times, {
    ...options,
    requireCodeSigning: true,
  });
}
