/**
 * The one table of object identifiers the library and the embedded servers use, by name: key
 * and signature algorithms, hashes, name attributes, certificate extensions and key purposes,
 * CMS and RFC 3161 content, and the Fulcio extensions (cosign-spec.md section 7.2). Every lookup
 * by OID (a name's label, a hash's name) is derived from here, so an OID is written once.
 *
 * @module
 */

import type { HashName } from "../util/bytes.ts";

/** Object identifiers by name, in dotted form. */
export const OID = {
  // Public key algorithms and curves (RFC 5480 section 2.1.1, RFC 8017 appendix A, RFC 8410).
  EC_PUBLIC_KEY: "1.2.840.10045.2.1",
  P224: "1.3.132.0.33",
  P256: "1.2.840.10045.3.1.7",
  P384: "1.3.132.0.34",
  P521: "1.3.132.0.35",
  RSA: "1.2.840.113549.1.1.1",
  ED25519: "1.3.101.112",
  // Signature algorithms (RFC 5758 section 3.2, RFC 4055 sections 3.1 and 5).
  ECDSA_SHA256: "1.2.840.10045.4.3.2",
  ECDSA_SHA384: "1.2.840.10045.4.3.3",
  ECDSA_SHA512: "1.2.840.10045.4.3.4",
  RSA_SHA256: "1.2.840.113549.1.1.11",
  RSA_SHA384: "1.2.840.113549.1.1.12",
  RSA_SHA512: "1.2.840.113549.1.1.13",
  RSA_PSS: "1.2.840.113549.1.1.10",
  MGF1: "1.2.840.113549.1.1.8",
  // Hashes (RFC 5754 section 2).
  SHA256: "2.16.840.1.101.3.4.2.1",
  SHA384: "2.16.840.1.101.3.4.2.2",
  SHA512: "2.16.840.1.101.3.4.2.3",
  // Certificate extensions (RFC 5280 section 4.2; RFC 6962 sections 3.1 and 3.3).
  SUBJECT_KEY_ID: "2.5.29.14",
  KEY_USAGE: "2.5.29.15",
  SUBJECT_ALT_NAME: "2.5.29.17",
  BASIC_CONSTRAINTS: "2.5.29.19",
  NAME_CONSTRAINTS: "2.5.29.30",
  CERTIFICATE_POLICIES: "2.5.29.32",
  AUTHORITY_KEY_ID: "2.5.29.35",
  EXT_KEY_USAGE: "2.5.29.37",
  SCT_LIST: "1.3.6.1.4.1.11129.2.4.2",
  PRECERT_POISON: "1.3.6.1.4.1.11129.2.4.3",
  // Extended key usages (RFC 5280 section 4.2.1.12).
  EKU_ANY: "2.5.29.37.0",
  EKU_CODE_SIGNING: "1.3.6.1.5.5.7.3.3",
  EKU_TIME_STAMPING: "1.3.6.1.5.5.7.3.8",
  // CMS (RFC 5652) and RFC 3161 content.
  SIGNED_DATA: "1.2.840.113549.1.7.2",
  TST_INFO: "1.2.840.113549.1.9.16.1.4",
  CONTENT_TYPE: "1.2.840.113549.1.9.3",
  MESSAGE_DIGEST: "1.2.840.113549.1.9.4",
  SIGNING_TIME: "1.2.840.113549.1.9.5",
  SIGNING_CERTIFICATE_V2: "1.2.840.113549.1.9.16.2.47",
  /** The Sigstore TSA policy (cosign-spec.md section 7.2). */
  SIGSTORE_TSA_POLICY: "1.3.6.1.4.1.57264.2",
  /** Fulcio's OtherName SAN type-id (`user!domain`). */
  FULCIO_OTHERNAME: "1.3.6.1.4.1.57264.1.7",
} as const;

/** The OIDs of the SHA-2 functions by hash name. */
export const HASH_OID: Readonly<Record<HashName, string>> = {
  sha256: OID.SHA256,
  sha384: OID.SHA384,
  sha512: OID.SHA512,
};

const HASH_BY_OID: ReadonlyMap<string, HashName> = new Map(
  Object.entries(HASH_OID).map(([name, oid]) => [oid, name as HashName]),
);

/** The SHA-2 hash an AlgorithmIdentifier OID names, or undefined. */
export function hashFromOid(oid: string): HashName | undefined {
  return HASH_BY_OID.get(oid);
}

/** Distinguished-name attribute OIDs by their RFC 4514 label (RFC 5280 appendix A.1). */
export const NAME_ATTRIBUTE_OID = {
  CN: "2.5.4.3",
  SERIALNUMBER: "2.5.4.5",
  C: "2.5.4.6",
  L: "2.5.4.7",
  ST: "2.5.4.8",
  STREET: "2.5.4.9",
  O: "2.5.4.10",
  OU: "2.5.4.11",
  POSTALCODE: "2.5.4.17",
  EMAILADDRESS: "1.2.840.113549.1.9.1",
  DC: "0.9.2342.19200300.100.1.25",
  UID: "0.9.2342.19200300.100.1.1",
} as const;

/** An RFC 4514 attribute label this table knows. */
export type NameAttributeLabel = keyof typeof NAME_ATTRIBUTE_OID;

const LABEL_BY_OID: ReadonlyMap<string, string> = new Map(
  Object.entries(NAME_ATTRIBUTE_OID).map(([label, oid]) => [oid, label]),
);

/** The RFC 4514 label of a name attribute OID, or undefined. */
export function nameAttributeLabel(oid: string): string | undefined {
  return LABEL_BY_OID.get(oid);
}

/** The arc of the Fulcio extensions: `1.3.6.1.4.1.57264.1.<n>`. */
export const FULCIO_ARC = "1.3.6.1.4.1.57264.1.";

/** Names of the Fulcio extensions 1.3.6.1.4.1.57264.1.x (cosign-spec.md section 7.2). */
export const FULCIO_EXTENSIONS: Readonly<Record<string, string>> = {
  [`${FULCIO_ARC}1`]: "issuer",
  [`${FULCIO_ARC}2`]: "githubWorkflowTrigger",
  [`${FULCIO_ARC}3`]: "githubWorkflowSha",
  [`${FULCIO_ARC}4`]: "githubWorkflowName",
  [`${FULCIO_ARC}5`]: "githubWorkflowRepository",
  [`${FULCIO_ARC}6`]: "githubWorkflowRef",
  [`${FULCIO_ARC}8`]: "issuerV2",
  [`${FULCIO_ARC}9`]: "buildSignerUri",
  [`${FULCIO_ARC}10`]: "buildSignerDigest",
  [`${FULCIO_ARC}11`]: "runnerEnvironment",
  [`${FULCIO_ARC}12`]: "sourceRepositoryUri",
  [`${FULCIO_ARC}13`]: "sourceRepositoryDigest",
  [`${FULCIO_ARC}14`]: "sourceRepositoryRef",
  [`${FULCIO_ARC}15`]: "sourceRepositoryIdentifier",
  [`${FULCIO_ARC}16`]: "sourceRepositoryOwnerUri",
  [`${FULCIO_ARC}17`]: "sourceRepositoryOwnerIdentifier",
  [`${FULCIO_ARC}18`]: "buildConfigUri",
  [`${FULCIO_ARC}19`]: "buildConfigDigest",
  [`${FULCIO_ARC}20`]: "buildTrigger",
  [`${FULCIO_ARC}21`]: "runInvocationUri",
  [`${FULCIO_ARC}22`]: "sourceRepositoryVisibilityAtSigning",
  [`${FULCIO_ARC}23`]: "deploymentEnvironment",
  [`${FULCIO_ARC}24`]: "tokenSubject",
};
