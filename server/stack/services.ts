/**
 * The stateful services of the embedded stack (registry, transparency log, CA, OIDC issuer, TSA,
 * and the TUF repository that publishes their trust material),
 * opened under one data directory or in memory, and named at the URL they are served at
 * (`bindStack`: the trusted root and signing config pointing at them). Service keys are created
 * once and kept under `<dataDir>/keys/`, so a restart keeps every key. The HTTP composition is
 * `server/mod.ts`.
 *
 * @module
 */

import { join } from "node:path";
import { TRUSTED_ROOT_MEDIA_TYPES, type TrustedRoot } from "../../lib/trust/trusted_root.ts";
import type { SigningConfig } from "../../lib/trust/signing_config.ts";
import { CertificateAuthority } from "../fulcio/certificate_authority.ts";
import { OidcIssuer } from "../oidc/issuer.ts";
import { RegistryStore } from "../registry/store.ts";
import { writeFileAtomically } from "../_files.ts";
import { TransparencyLog } from "../rekor/transparency_log.ts";
import { RekorV2Log } from "../rekor_v2/log.ts";
import { REKOR_V2_PREFIX } from "../rekor_v2/routes.ts";
import { TimestampAuthority } from "../tsa/timestamp_authority.ts";
import { TufRepository } from "../tuf/repository.ts";

/** Options of `openStackServices`. */
export interface StackServicesOptions {
  /** State directory; each service keeps a subdirectory. Memory when omitted. */
  readonly dataDir?: string;
  /** Largest blob the registry accepts, in bytes. */
  readonly maxBlobSize?: number;
  /** Most concurrent registry upload sessions. */
  readonly maxUploadSessions?: number;
  /**
   * Identities the OIDC issuer logs in as (emails, GitHub workflow URIs, other URIs); the first
   * is the default (default `signer@dcosign.test`).
   */
  readonly identities?: readonly string[];
}

/** The stateful services of the stack. */
export interface StackServices extends AsyncDisposable {
  /** The OCI registry's state. */
  readonly registry: RegistryStore;
  /** The transparency log (Rekor). */
  readonly log: TransparencyLog;
  /** The Rekor v2 log (rekor-tiles API and C2SP tiles, under `/rekor-v2`). */
  readonly rekorV2: RekorV2Log;
  /** The certificate authority (Fulcio) and its CT log key. */
  readonly ca: CertificateAuthority;
  /** The OIDC issuer. */
  readonly oidc: OidcIssuer;
  /** The RFC 3161 timestamp authority. */
  readonly tsa: TimestampAuthority;
  /** The TUF repository publishing the stack's trusted root and signing config. */
  readonly tuf: TufRepository;
  /** The state directory, when not in memory. */
  readonly dataDir?: string;
  /** Close every service. Idempotent. */
  close(): Promise<void>;
}

/**
 * Load a service's keys from `<dataDir>/keys/<name>.json`, or create them and save them there
 * (0600, atomically) so a restart keeps them. Memory only without a data directory.
 */
async function loadOrCreate<T extends { toJSON(): unknown }>(
  dataDir: string | undefined,
  name: string,
  create: () => Promise<T>,
  restore: (json: unknown) => Promise<T>,
): Promise<T> {
  if (dataDir === undefined) return await create();
  const path = join(dataDir, "keys", `${name}.json`);
  let text: string | undefined;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  if (text !== undefined) return await restore(JSON.parse(text));
  const created = await create();
  await saveKeys(dataDir, name, created);
  return created;
}

/** Save a service's keys to `<dataDir>/keys/<name>.json` (0600, atomically). */
async function saveKeys(dataDir: string, name: string, service: { toJSON(): unknown }) {
  await Deno.mkdir(join(dataDir, "keys"), { recursive: true, mode: 0o700 });
  await writeFileAtomically(
    join(dataDir, "keys", `${name}.json`),
    `${JSON.stringify(service.toJSON())}\n`,
  );
}

/**
 * Rotate the TSA's signing key and persist it: timestamps from now on come from a new chain,
 * and the trusted root `bindStack` names lists the old chain as valid until now.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { bindStack, openStackServices, rotateTimestampAuthority } from "@dcosign/dcosign/server";
 *
 * await using services = await openStackServices();
 * const before = services.tsa.chain[0]!.raw;
 * await rotateTimestampAuthority(services);
 * const { timestampAuthorities } = bindStack(services, "https://sigstore.example").trustedRoot;
 * assert.equal(timestampAuthorities.length, 2); // the new chain, and the old one until now
 * assert.deepEqual(timestampAuthorities[1]!.certificates[0], before);
 * ```
 */
export async function rotateTimestampAuthority(services: StackServices): Promise<void> {
  await services.tsa.rotate();
  if (services.dataDir !== undefined) await saveKeys(services.dataDir, "tsa", services.tsa);
}

/**
 * Open the state of every service, under `dataDir` or in memory.
 *
 * @example Keys survive a restart on the same data directory
 * ```ts
 * import assert from "node:assert/strict";
 * import { openStackServices } from "@dcosign/dcosign/server";
 *
 * const dataDir = await Deno.makeTempDir();
 * const logKey = async () => {
 *   await using services = await openStackServices({ dataDir });
 *   return services.log.publicKeyPem();
 * };
 * assert.equal(await logKey(), await logKey());
 * await Deno.remove(dataDir, { recursive: true });
 * ```
 */
export async function openStackServices(
  options: StackServicesOptions = {},
): Promise<StackServices> {
  const dataDir = options.dataDir;
  const opened: { close(): Promise<void> | void }[] = [];
  try {
    const registry = await RegistryStore.open({
      ...(dataDir === undefined ? {} : { directory: join(dataDir, "registry") }),
      ...(options.maxBlobSize === undefined ? {} : { maxBlobSize: options.maxBlobSize }),
      ...(options.maxUploadSessions === undefined
        ? {}
        : { maxUploadSessions: options.maxUploadSessions }),
    });
    opened.push(registry);
    if (dataDir !== undefined) await Deno.mkdir(join(dataDir, "rekor"), { recursive: true });
    const log = await TransparencyLog.open(
      dataDir === undefined ? ":memory:" : join(dataDir, "rekor", "log.db"),
    );
    opened.push(log);
    const rekorV2 = await RekorV2Log.open(
      dataDir === undefined ? ":memory:" : join(dataDir, "rekor-v2", "log.db"),
    );
    opened.push(rekorV2);
    const ca = await loadOrCreate(
      dataDir,
      "fulcio",
      () => CertificateAuthority.create(),
      (json) => CertificateAuthority.fromJSON(json),
    );
    const identities = options.identities ? { identities: options.identities } : {};
    const oidc = await loadOrCreate(
      dataDir,
      "oidc",
      () => OidcIssuer.create({ ...identities, allowTestTokens: true }),
      (json) => OidcIssuer.fromJSON(json, { ...identities, allowTestTokens: true }),
    );
    const tsa = await loadOrCreate(
      dataDir,
      "tsa",
      () => TimestampAuthority.create(),
      (json) => TimestampAuthority.fromJSON(json),
    );
    const tuf = await TufRepository.create(
      dataDir === undefined ? {} : { dataDir: join(dataDir, "tuf") },
    );
    let closing: Promise<void> | undefined;
    const close = () =>
      closing ??= (async () => {
        for (const service of opened.reverse()) await service.close();
      })();
    return {
      registry,
      log,
      rekorV2,
      ca,
      oidc,
      tsa,
      tuf,
      ...(dataDir === undefined ? {} : { dataDir }),
      close,
      [Symbol.asyncDispose]: close,
    };
  } catch (error) {
    for (const service of opened.reverse()) await service.close();
    throw error;
  }
}

/** The trust material of a stack served at `baseUrl`. */
export interface StackTrust {
  /** The trusted root naming the stack's log, CA, CT log and TSA. */
  readonly trustedRoot: TrustedRoot;
  /** The signing config pointing at the stack's services (Rekor v1, the default). */
  readonly signingConfig: SigningConfig;
  /**
   * The same with the Rekor v2 log listed first and v1 after it, as the public instance's
   * `signing_config_rekor_v2.v0.2.json` does: a client that speaks Rekor v2 selects it (the
   * highest `majorApiVersion` wins), one that does not falls back to v1.
   */
  readonly signingConfigRekorV2: SigningConfig;
}

/**
 * Name the stack's services at `baseUrl` (their URL is known once listening): the OIDC issuer's
 * `iss`, the log's checkpoint host, and the trusted root and signing config that point at them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { bindStack, openStackServices } from "@dcosign/dcosign/server";
 *
 * await using services = await openStackServices();
 * const trust = bindStack(services, "https://sigstore.example");
 * assert.equal(trust.trustedRoot.tlogs[0]?.baseUrl, "https://sigstore.example");
 * assert.equal(trust.signingConfig.tsaUrls[0]?.url, "https://sigstore.example/api/v1/timestamp");
 * assert.equal(services.oidc.issuerUrl, "https://sigstore.example");
 * ```
 */
export function bindStack(services: StackServices, baseUrl: string): StackTrust {
  const base = baseUrl.replace(/\/$/, "");
  services.oidc.setIssuerUrl(base);
  const trustedRoot: TrustedRoot = {
    mediaType: TRUSTED_ROOT_MEDIA_TYPES[0],
    tlogs: [
      services.log.trustedLog(base),
      services.rekorV2.trustedLog(`${base}${REKOR_V2_PREFIX}`),
    ],
    certificateAuthorities: [services.ca.trustedAuthority(base)],
    ctlogs: [services.ca.ctLog(base)],
    timestampAuthorities: services.tsa.trustedAuthorities(base),
  };
  const start = services.ca.trustedAuthority(base).validFor.start;
  const service = (url: string, majorApiVersion = 1) => ({
    url,
    majorApiVersion,
    validFor: { start },
    operator: "dcosign serve",
  });
  const signingConfig: SigningConfig = {
    caUrls: [service(base)],
    oidcUrls: [service(base)],
    rekorTlogUrls: [service(base)],
    tsaUrls: [service(`${base}/api/v1/timestamp`)],
    rekorTlogConfig: { selector: "ANY" },
    tsaConfig: { selector: "ANY" },
  };
  const signingConfigRekorV2: SigningConfig = {
    ...signingConfig,
    rekorTlogUrls: [service(`${base}${REKOR_V2_PREFIX}`, 2), service(base)],
  };
  return { trustedRoot, signingConfig, signingConfigRekorV2 };
}
