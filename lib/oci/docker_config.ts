/**
 * Registry credentials from the docker config, the way go-containerregistry's default keychain
 * finds them (cosign-spec.md section 10.4).
 *
 * This is the one `lib/` helper that reads files, the environment and runs subprocesses (the
 * `docker-credential-<name>` helpers); each of those is injectable for tests.
 *
 * Matching is by EXACT host (after dropping a scheme and path from config keys and treating
 * Docker Hub's aliases as one), never by substring: sigstore-js once sent `ghcr.io` credentials to
 * `cr.io` (SECURITY.md row 23).
 *
 * @module
 */

import { fromBase64, fromUtf8, preview } from "../util/bytes.ts";
import { asOptionalString, asRecord, isRecord, type JsonRecord, parseJson } from "../util/json.ts";
import { CosignError, errorMessage } from "../errors.ts";
import { readFileAtMost } from "../util/read_bounded.ts";
import {
  DOCKER_HUB_API_HOST,
  DOCKER_HUB_CONFIG_KEY,
  DOCKER_HUB_REGISTRY,
  type RepositoryRef,
} from "./reference.ts";

/** Error codes raised while reading credentials. */
export type DockerConfigErrorCode = "OCI_CREDENTIALS_INVALID" | "OCI_CREDENTIAL_HELPER_FAILED";

/** Credentials for one registry; which fields are set decides the auth flow. */
export interface RegistryCredentials {
  /** Basic user name (sent to the registry, or to its token realm on the same host). */
  readonly username?: string;
  /** Basic password (with `username`). */
  readonly password?: string;
  /** An OAuth2 refresh token (`identitytoken`, or a helper's `<token>` user). */
  readonly identityToken?: string;
  /** A bearer token sent as is (`registrytoken`, `--registry-token`). */
  readonly registryToken?: string;
}

/** Looks credentials up for a registry (and repository); `undefined` means anonymous. */
export type CredentialResolver = (
  registry: string,
  repository?: string,
) => Promise<RegistryCredentials | undefined>;

/** The result of running a credential helper. */
export interface HelperResult {
  /** Exit code. */
  readonly code: number;
  /** Standard output. */
  readonly stdout: string;
}

/** Runs `command args...` with `stdin`; the default resolves `command` on `env.PATH`. */
export type CommandRunner = (
  command: string,
  args: readonly string[],
  options: { stdin: string; env: Readonly<Record<string, string | undefined>> },
) => Promise<HelperResult>;

/** Where the keychain looks and how it reads. */
export interface DockerConfigOptions {
  /** The environment (`HOME`, `DOCKER_CONFIG`, `REGISTRY_AUTH_FILE`, `XDG_*`, `PATH`). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Read a text file; `undefined` when it does not exist. */
  readonly readFile?: (path: string) => Promise<string | undefined>;
  /** Run a credential helper. */
  readonly run?: CommandRunner;
}

/** A parsed docker config (`config.json` or containers `auth.json`). */
export interface DockerConfig {
  /** The file it came from. */
  readonly path: string;
  /** `auths` entries by config key. */
  readonly auths: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  /** Default helper for every registry without a `credHelpers` entry. */
  readonly credsStore?: string;
  /** Helper names by registry (`docker-credential-<name>`). */
  readonly credHelpers: Readonly<Record<string, string>>;
}

const MAX_CONFIG_BYTES = 4 * 1024 * 1024;
const MAX_HELPER_OUTPUT = 1024 * 1024;
const HELPER_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function invalidConfig(path: string, reason: string, cause?: unknown): CosignError {
  return new CosignError(
    "OCI_CREDENTIALS_INVALID",
    `Cannot read registry credentials from "${path}": ${reason}`,
    { cause },
  );
}

/** Parse the text of a docker config file (`path` names it in errors). */
export function parseDockerConfig(text: string, path: string): DockerConfig {
  if (text.length > MAX_CONFIG_BYTES) throw invalidConfig(path, "file too large");
  let record: JsonRecord;
  try {
    record = asRecord(parseJson(text, path), path);
  } catch (cause) {
    throw invalidConfig(path, errorMessage(cause), cause);
  }
  // fromEntries defines own properties: a "__proto__" key cannot reach a prototype.
  const auths: Record<string, JsonRecord> = Object.fromEntries(
    Object.entries(isRecord(record.auths) ? record.auths : {}).filter((
      e,
    ): e is [string, JsonRecord] => isRecord(e[1])),
  );
  const credHelpers: Record<string, string> = Object.fromEntries(
    Object.entries(isRecord(record.credHelpers) ? record.credHelpers : {}).filter((
      e,
    ): e is [string, string] => typeof e[1] === "string" && e[1] !== ""),
  );
  const credsStore = typeof record.credsStore === "string" && record.credsStore !== ""
    ? record.credsStore
    : undefined;
  return { path, auths, credHelpers, ...(credsStore !== undefined ? { credsStore } : {}) };
}

/**
 * Config files in search order (cosign-spec.md section 10.4). The docker file is
 * `$DOCKER_CONFIG/config.json` when `DOCKER_CONFIG` is set (docker's `config.Load` reads that
 * directory whenever the variable is set), else `~/.docker/config.json`; then the podman/
 * containers files `$REGISTRY_AUTH_FILE`, `$XDG_RUNTIME_DIR/containers/auth.json` and
 * `${XDG_CONFIG_HOME:-~/.config}/containers/auth.json`.
 */
export function dockerConfigPaths(env: Readonly<Record<string, string | undefined>>): string[] {
  const home = env.HOME;
  const paths: string[] = [];
  if (env.DOCKER_CONFIG) paths.push(`${env.DOCKER_CONFIG}/config.json`);
  else if (home) paths.push(`${home}/.docker/config.json`);
  if (env.REGISTRY_AUTH_FILE) paths.push(env.REGISTRY_AUTH_FILE);
  if (env.XDG_RUNTIME_DIR) paths.push(`${env.XDG_RUNTIME_DIR}/containers/auth.json`);
  const xdgConfig = env.XDG_CONFIG_HOME || (home ? `${home}/.config` : undefined);
  if (xdgConfig) paths.push(`${xdgConfig}/containers/auth.json`);
  return paths;
}

/** Load the first config file that exists, or `undefined` (anonymous). */
export async function loadDockerConfig(
  options: DockerConfigOptions = {},
): Promise<DockerConfig | undefined> {
  const env = options.env ?? Deno.env.toObject();
  const readFile = options.readFile ?? readTextFileIfExists;
  for (const path of dockerConfigPaths(env)) {
    const text = await readFile(path);
    if (text !== undefined) return parseDockerConfig(text, path);
  }
  return undefined;
}

/** True for the names Docker Hub goes by. */
function isDockerHub(host: string): boolean {
  return host === DOCKER_HUB_REGISTRY || host === "docker.io" || host === DOCKER_HUB_API_HOST;
}

/**
 * The host (or `host/path` for repository keys) a config key names: scheme and trailing slash
 * dropped, lowercase host, Docker Hub's aliases folded into `index.docker.io`. Registry keys keep
 * only the host (docker's `ConvertToHostname`); `https://index.docker.io/v1/` is Docker Hub.
 */
export function normalizeConfigKey(key: string): string {
  let rest = key.trim().replace(/^[a-z][a-z0-9+.-]*:\/\//i, "").replace(/\/+$/, "");
  const slash = rest.indexOf("/");
  let host = slash === -1 ? rest : rest.slice(0, slash);
  let path = slash === -1 ? "" : rest.slice(slash + 1);
  host = host.toLowerCase();
  if (isDockerHub(host)) host = DOCKER_HUB_REGISTRY;
  // Docker Hub's own key carries an API version path ("/v1/"), which is not a repository.
  if (/^v[12]$/.test(path)) path = "";
  rest = path === "" ? host : `${host}/${path}`;
  return rest;
}

/** The keys tried for a repository: `registry/repository` first, then the registry. */
export function credentialKeys(ref: RepositoryRef): string[] {
  const host = normalizeConfigKey(ref.registry);
  return [`${host}/${ref.repository}`, host];
}

/** The server URL given to helpers: Docker Hub's legacy key, else the registry host. */
function helperServerUrl(key: string): string {
  return key === DOCKER_HUB_REGISTRY ? DOCKER_HUB_CONFIG_KEY : key;
}

function findEntry<T>(map: Readonly<Record<string, T>>, key: string): T | undefined {
  if (Object.hasOwn(map, key)) return map[key];
  for (const [candidate, value] of Object.entries(map)) {
    if (normalizeConfigKey(candidate) === key) return value;
  }
  return undefined;
}

function credentialsFromAuth(entry: JsonRecord, where: string): RegistryCredentials | undefined {
  try {
    const auth = asOptionalString(entry.auth, `${where}.auth`);
    let username = asOptionalString(entry.username, `${where}.username`);
    let password = asOptionalString(entry.password, `${where}.password`);
    if (auth !== undefined && auth !== "") {
      const decoded = fromUtf8(fromBase64(auth));
      const colon = decoded.indexOf(":");
      if (colon === -1) throw new SyntaxError(`${where}.auth: expected base64 of "user:password"`);
      username = decoded.slice(0, colon);
      password = decoded.slice(colon + 1);
    }
    const identityToken = asOptionalString(entry.identitytoken, `${where}.identitytoken`);
    const registryToken = asOptionalString(entry.registrytoken, `${where}.registrytoken`);
    const creds: RegistryCredentials = {
      ...(username ? { username } : {}),
      ...(password ? { password } : {}),
      ...(identityToken ? { identityToken } : {}),
      ...(registryToken ? { registryToken } : {}),
    };
    return Object.keys(creds).length === 0 ? undefined : creds;
  } catch (cause) {
    throw invalidConfig(where, errorMessage(cause), cause);
  }
}

/**
 * Run `docker-credential-<helper> get` with the server URL on stdin and read
 * `{"ServerURL","Username","Secret"}`; a `<token>` user means an identity token. "Not found"
 * (a non-zero exit with the helper's credentials-not-found text) is `undefined`.
 */
export async function runCredentialHelper(
  helper: string,
  serverUrl: string,
  options: DockerConfigOptions = {},
): Promise<RegistryCredentials | undefined> {
  if (!HELPER_NAME_RE.test(helper)) {
    throw new CosignError(
      "OCI_CREDENTIALS_INVALID",
      `Invalid credential helper name "${preview(helper)}"`,
    );
  }
  const command = `docker-credential-${helper}`;
  const env = options.env ?? Deno.env.toObject();
  let result: HelperResult;
  try {
    result = await (options.run ?? runCommand)(command, ["get"], { stdin: serverUrl, env });
  } catch (cause) {
    throw new CosignError(
      "OCI_CREDENTIAL_HELPER_FAILED",
      `Credential helper "${command}" failed for "${serverUrl}": ${errorMessage(cause)}`,
      { cause },
    );
  }
  if (result.code !== 0) {
    if (/credentials not found/i.test(result.stdout)) return undefined;
    throw new CosignError(
      "OCI_CREDENTIAL_HELPER_FAILED",
      `Credential helper "${command}" failed for "${serverUrl}": exit code ${result.code}`,
    );
  }
  let record: JsonRecord;
  try {
    record = asRecord(parseJson(result.stdout, `${command} output`), `${command} output`);
  } catch (cause) {
    throw new CosignError(
      "OCI_CREDENTIAL_HELPER_FAILED",
      `Credential helper "${command}" returned invalid output: ${errorMessage(cause)}`,
      { cause },
    );
  }
  const username = typeof record.Username === "string" ? record.Username : "";
  const secret = typeof record.Secret === "string" ? record.Secret : "";
  if (secret === "") return undefined;
  if (username === "<token>") return { identityToken: secret };
  return { ...(username ? { username } : {}), password: secret };
}

/**
 * Credentials for a repository from a parsed config. For each key (repository, then host):
 * the `credHelpers` entry for that exact key, else (host key only) `credsStore`, then `auths`.
 */
export async function lookupCredentials(
  config: DockerConfig,
  ref: RepositoryRef,
  options: DockerConfigOptions = {},
): Promise<RegistryCredentials | undefined> {
  const [repoKey, hostKey] = credentialKeys(ref) as [string, string];
  for (const key of [repoKey, hostKey]) {
    const helper = findEntry(config.credHelpers, key) ??
      (key === hostKey ? config.credsStore : undefined);
    if (helper !== undefined) {
      const creds = await runCredentialHelper(helper, helperServerUrl(key), options);
      if (creds !== undefined) return creds;
    }
    const entry = findEntry(config.auths, key);
    if (entry !== undefined) {
      const creds = credentialsFromAuth(entry, `${config.path} auths["${key}"]`);
      if (creds !== undefined) return creds;
    }
  }
  return undefined;
}

/** Options of `createCredentialResolver`. */
export interface CredentialResolverOptions extends DockerConfigOptions {
  /** `--registry-username` / `--registry-password` (Basic; they take precedence). */
  readonly username?: string;
  /** With `username`. */
  readonly password?: string;
  /** `--registry-token` (Bearer as is). */
  readonly registryToken?: string;
  /**
   * Registries the explicit credentials above belong to; when given, other registries get
   * keychain lookups only (credentials never go to another host).
   */
  readonly explicitFor?: readonly string[];
  /** Skip the docker config files. */
  readonly keychain?: boolean;
}

/**
 * A `CredentialResolver` with cosign's precedence: `--registry-username/--registry-password`,
 * else `--registry-token`, else the docker config keychain (loaded once, lazily).
 */
export function createCredentialResolver(
  options: CredentialResolverOptions = {},
): CredentialResolver {
  let config: Promise<DockerConfig | undefined> | undefined;
  const explicitFor = options.explicitFor?.map(normalizeConfigKey);
  return async (registry, repository) => {
    const host = normalizeConfigKey(registry);
    if (explicitFor === undefined || explicitFor.includes(host)) {
      if (options.username !== undefined && options.password !== undefined) {
        return { username: options.username, password: options.password };
      }
      if (options.registryToken !== undefined) return { registryToken: options.registryToken };
    }
    if (options.keychain === false) return undefined;
    config ??= loadDockerConfig(options);
    const loaded = await config;
    if (loaded === undefined) return undefined;
    return await lookupCredentials(loaded, { registry, repository: repository ?? "" }, options);
  };
}

/** Most bytes of a docker config file read (real ones are a few KiB). */
export const MAX_DOCKER_CONFIG_BYTES = 4 << 20;

/** The config file's text, bounded whatever the path is (a FIFO, `/dev/zero`), or undefined. */
async function readTextFileIfExists(path: string): Promise<string | undefined> {
  let bytes: Uint8Array | undefined;
  try {
    bytes = await readFileAtMost(path, MAX_DOCKER_CONFIG_BYTES);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw invalidConfig(path, errorMessage(error), error);
  }
  if (bytes === undefined) {
    throw invalidConfig(path, `larger than the limit of ${MAX_DOCKER_CONFIG_BYTES} bytes`);
  }
  try {
    return fromUtf8(bytes);
  } catch (error) {
    throw invalidConfig(path, errorMessage(error), error);
  }
}

/** Find `command` in the injected `PATH` (never the process's own), then run it. */
async function runCommand(
  command: string,
  args: readonly string[],
  options: { stdin: string; env: Readonly<Record<string, string | undefined>> },
): Promise<HelperResult> {
  let resolved: string | undefined;
  for (const dir of (options.env.PATH ?? "").split(":")) {
    if (dir === "") continue;
    try {
      const info = await Deno.stat(`${dir}/${command}`);
      if (info.isFile) {
        resolved = `${dir}/${command}`;
        break;
      }
    } catch {
      // not in this directory
    }
  }
  if (resolved === undefined) throw new Error(`"${command}" not found on PATH`);
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(options.env)) if (value !== undefined) env[key] = value;
  const child = new Deno.Command(resolved, {
    args: [...args],
    env,
    clearEnv: true,
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(options.stdin));
  await writer.close();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of child.stdout) {
    total += chunk.length;
    if (total > MAX_HELPER_OUTPUT) {
      child.kill();
      await child.status;
      throw new Error(`output larger than ${MAX_HELPER_OUTPUT} bytes`);
    }
    chunks.push(chunk);
  }
  const status = await child.status;
  const stdout = new TextDecoder().decode(await new Blob(chunks as BlobPart[]).arrayBuffer());
  return { code: status.code, stdout };
}
