/**
 * Test support for the transparency-log suites: reads the parts of interop bundles the tlog
 * code needs (tlog entries, signature, key or certificate, DSSE envelope), without depending on
 * the bundle parser, so these suites test lib/tlog/verify.ts and lib/tlog/rekor/entries.ts alone.
 *
 * @module
 */

import { type Bytes, fromBase64 } from "../../lib/util/bytes.ts";
import { decodePem } from "../../lib/util/pem.ts";
import type { TlogEntry } from "../../lib/tlog/entry.ts";
import { exists, interopPath, readInteropBytes, readInteropText } from "../_support.ts";

/** The conformance cases directory, relative to the interop corpus. */
export const CASES = "conformance/test/assets/bundle-verify";

type Json = Record<string, unknown>;

function int64(value: unknown): bigint {
  return BigInt(typeof value === "number" ? value : String(value ?? "0"));
}

/** A protobuf-JSON `TransparencyLogEntry` as a `TlogEntry` (test reader; not hardened). */
export function readTlogEntryJson(value: unknown): TlogEntry {
  const json = value as Json;
  const kindVersion = json.kindVersion as { kind: string; version: string };
  const promise = json.inclusionPromise as Json | null | undefined;
  const proof = json.inclusionProof as Json | null | undefined;
  return {
    logIndex: int64(json.logIndex),
    logId: fromBase64((json.logId as Json).keyId as string),
    kindVersion: { kind: kindVersion.kind, version: kindVersion.version },
    integratedTime: int64(json.integratedTime),
    ...(promise?.signedEntryTimestamp
      ? {
        inclusionPromise: {
          signedEntryTimestamp: fromBase64(promise.signedEntryTimestamp as string),
        },
      }
      : {}),
    ...(proof
      ? {
        inclusionProof: {
          logIndex: int64(proof.logIndex),
          rootHash: fromBase64(proof.rootHash as string),
          treeSize: int64(proof.treeSize),
          hashes: ((proof.hashes as string[] | undefined) ?? []).map((h) => fromBase64(h)),
          checkpoint: ((proof.checkpoint as Json | undefined)?.envelope as string | undefined) ??
            "",
        },
      }
      : {}),
    canonicalizedBody: fromBase64(json.canonicalizedBody as string),
  };
}

/** What a verifier holds for one interop bundle. */
export interface BundleFixture {
  readonly json: Json;
  readonly entries: TlogEntry[];
  /** The message signature, or the DSSE envelope's (first) signature. */
  readonly signature: Bytes;
  /** Certificate DER, or the SPKI of `keyPem` when given. */
  readonly verifierDer?: Bytes;
  readonly envelope?: { payloadType: string; payload: Bytes };
}

/** Load a bundle of the interop corpus; `keyPath` supplies the key of key-signed bundles. */
export function loadBundleFixture(path: string, keyPath?: string): BundleFixture {
  const json = JSON.parse(readInteropText(path)) as Json;
  const material = json.verificationMaterial as Json;
  const entries = ((material.tlogEntries as unknown[] | undefined) ?? []).map(readTlogEntryJson);
  let verifierDer: Bytes | undefined;
  if (keyPath) {
    verifierDer = decodePem(readInteropText(keyPath), ["PUBLIC KEY"]).bytes;
  } else if (material.certificate) {
    verifierDer = fromBase64((material.certificate as Json).rawBytes as string);
  } else if (material.x509CertificateChain) {
    const chain = (material.x509CertificateChain as Json).certificates as Json[];
    if (chain[0]) verifierDer = fromBase64(chain[0].rawBytes as string);
  }
  const dsse = json.dsseEnvelope as Json | undefined;
  if (dsse) {
    const signatures = dsse.signatures as Json[];
    return {
      json,
      entries,
      signature: fromBase64(signatures[0]!.sig as string),
      ...(verifierDer ? { verifierDer } : {}),
      envelope: {
        payloadType: dsse.payloadType as string,
        payload: fromBase64(dsse.payload as string),
      },
    };
  }
  const message = json.messageSignature as Json;
  return {
    json,
    entries,
    signature: fromBase64(message.signature as string),
    ...(verifierDer ? { verifierDer } : {}),
  };
}

/** The artifact of a conformance case (its own `artifact`, else `a.txt`). */
export function caseArtifact(name: string): Bytes {
  const own = `${CASES}/${name}/artifact`;
  return exists(interopPath(own)) ? readInteropBytes(own) : readInteropBytes(`${CASES}/a.txt`);
}
