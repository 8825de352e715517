/**
 * A throw-away TLS certificate for the admission webhook (`dcosign admission serve
 * --self-signed`): a P-256 CA and a server certificate it issues for the given DNS names and
 * IP addresses (loopback by default), valid for a day. Tests and local runs use it; in a
 * cluster the certificate comes from a Secret (cert-manager or the operator), and the CA is what
 * the webhook configurations' `caBundle` holds.
 *
 * @module
 */

import { encodePem } from "../../lib/util/pem.ts";
import { derContext, derSequence } from "../../lib/util/der.ts";
import { generateKeyPair } from "../../lib/keys/private_key.ts";
import { OID } from "../../lib/x509/oids.ts";
import {
  basicConstraintsExtension,
  buildCertificate,
  createRootCertificate,
  extKeyUsageExtension,
  keyUsageExtension,
  subjectKeyIdExtension,
} from "../fulcio/certificate_builder.ts";

/** The PEM files of a generated TLS identity. */
export interface TlsMaterial {
  /** The server certificate then its CA (what `Deno.serve` takes as `cert`). */
  readonly cert: string;
  /** The server's PKCS#8 private key. */
  readonly key: string;
  /** The CA certificate clients trust (`caBundle`, `Deno.createHttpClient({ caCerts })`). */
  readonly ca: string;
}

/** Options of {@link generateSelfSignedTls}. */
export interface SelfSignedOptions {
  /** DNS names (default `localhost`). */
  readonly dnsNames?: readonly string[];
  /** IP addresses (default `127.0.0.1` and `::1`). */
  readonly ipAddresses?: readonly string[];
  /** Start of validity (default now, minus a minute for clock skew). */
  readonly now?: Date;
}

/** serverAuth (RFC 5280 section 4.2.1.12). */
const SERVER_AUTH = "1.3.6.1.5.5.7.3.1";

function ipBytes(address: string): Uint8Array {
  if (address.includes(":")) {
    // Expand "::" then read eight 16-bit groups.
    const [head = "", tail = ""] = address.split("::");
    const left = head ? head.split(":") : [];
    const right = tail ? tail.split(":") : [];
    const groups = address.includes("::")
      ? [...left, ...Array(8 - left.length - right.length).fill("0"), ...right]
      : left;
    if (groups.length !== 8) throw new TypeError(`Invalid IPv6 address "${address}"`);
    const out = new Uint8Array(16);
    groups.forEach((group, i) => {
      const value = parseInt(group, 16);
      if (!/^[0-9a-fA-F]{1,4}$/.test(group)) {
        throw new TypeError(`Invalid IPv6 address "${address}"`);
      }
      out[2 * i] = value >> 8;
      out[2 * i + 1] = value & 0xff;
    });
    return out;
  }
  const parts = address.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) < 256)) {
    throw new TypeError(`Invalid IPv4 address "${address}"`);
  }
  return Uint8Array.from(parts.map(Number));
}

/**
 * Generate a CA and a server certificate for `dnsNames` and `ipAddresses`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { generateSelfSignedTls } from "./tls.ts";
 *
 * const tls = await generateSelfSignedTls({ dnsNames: ["localhost", "webhook.dcosign-system.svc"] });
 * assert.match(tls.cert, /^-----BEGIN CERTIFICATE-----/);
 * assert.match(tls.key, /^-----BEGIN PRIVATE KEY-----/);
 * ```
 */
export async function generateSelfSignedTls(options: SelfSignedOptions = {}): Promise<TlsMaterial> {
  const dnsNames = options.dnsNames ?? ["localhost"];
  const ipAddresses = options.ipAddresses ?? ["127.0.0.1", "::1"];
  const notBefore = new Date((options.now ?? new Date()).getTime() - 60_000);
  const notAfter = new Date(notBefore.getTime() + 24 * 3600_000);
  const caKey = await generateKeyPair();
  const caCert = await createRootCertificate(caKey, {
    subject: { O: "dcosign", CN: "dcosign admission webhook CA" },
    notBefore,
    notAfter,
  });
  const serverKey = await generateKeyPair();
  const names = [
    ...dnsNames.map((name) => derContext(2, false, new TextEncoder().encode(name))),
    ...ipAddresses.map((ip) => derContext(7, false, ipBytes(ip))),
  ];
  const serverCert = await buildCertificate({
    subject: { O: "dcosign", CN: dnsNames[0] ?? ipAddresses[0] ?? "dcosign" },
    issuer: caCert.subject.raw,
    publicKey: serverKey.publicKey,
    notBefore,
    notAfter,
    extensions: [
      keyUsageExtension(["digitalSignature"]),
      basicConstraintsExtension(false),
      extKeyUsageExtension([SERVER_AUTH]),
      subjectKeyIdExtension(serverKey.publicKey),
      { oid: OID.SUBJECT_ALT_NAME, critical: false, value: derSequence(...names) },
    ],
  }, caKey);
  const ca = encodePem("CERTIFICATE", caCert.raw);
  return {
    cert: encodePem("CERTIFICATE", serverCert.raw) + ca,
    key: encodePem("PRIVATE KEY", serverKey.toPkcs8()),
    ca,
  };
}
