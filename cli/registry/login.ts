/**
 * `login REGISTRY -u USER (-p PASSWORD | --password-stdin)`: check the credentials against the
 * registry (`GET /v2/`, following its Basic or bearer-token challenge), then store them in the
 * docker config the keychain reads (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`;
 * cosign-spec.md section 10.4). Other entries of the file are kept; it is written atomically
 * with mode 0600. The password is never printed.
 *
 * @module
 */

import { toBase64, utf8 } from "../../lib/util/bytes.ts";
import { isRecord, type JsonRecord, parseJson } from "../../lib/util/json.ts";
import { createCredentialResolver, normalizeConfigKey } from "../../lib/oci/docker_config.ts";
import { CosignError, errorMessage, isCosignError } from "../../lib/errors.ts";
import { RegistryClient } from "../../lib/oci/client.ts";
import {
  DOCKER_HUB_CONFIG_KEY,
  DOCKER_HUB_REGISTRY,
  parseRegistry,
} from "../../lib/oci/reference.ts";
import type { CommandInput, CommandRun } from "../spec.ts";
import { resolvePath } from "../context.ts";

const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

/** The docker config file `login` writes: `$DOCKER_CONFIG/config.json` or `~/.docker/...`. */
export function dockerConfigFile(env: (name: string) => string | undefined): string {
  const dir = env("DOCKER_CONFIG");
  if (dir) return `${dir.replace(/\/$/, "")}/config.json`;
  const home = env("HOME");
  if (!home) {
    throw new CosignError(
      "CLI_USAGE",
      "Cannot find the docker config: set DOCKER_CONFIG or HOME",
    );
  }
  return `${home.replace(/\/$/, "")}/.docker/config.json`;
}

/** The `auths` key docker uses for a registry (Docker Hub's is its legacy URL). */
export function configKeyFor(registry: string): string {
  return registry === DOCKER_HUB_REGISTRY ? DOCKER_HUB_CONFIG_KEY : registry;
}

/**
 * The config text with `auths[key]` set to the credentials: every other field and entry kept,
 * other keys naming the same registry (`https://host`, `host/`) replaced.
 */
export function setDockerConfigAuth(
  text: string | undefined,
  key: string,
  username: string,
  password: string,
  path = "config.json",
): string {
  let config: JsonRecord = {};
  if (text !== undefined && text.trim() !== "") {
    let parsed: unknown;
    try {
      parsed = parseJson(text, path);
    } catch (error) {
      throw new CosignError(
        "OCI_CREDENTIALS_INVALID",
        `Cannot update "${path}": ${errorMessage(error)} (fix or move the file)`,
        { cause: error },
      );
    }
    if (!isRecord(parsed)) {
      throw new CosignError(
        "OCI_CREDENTIALS_INVALID",
        `Cannot update "${path}": not a JSON object (fix or move the file)`,
      );
    }
    config = parsed;
  }
  const target = normalizeConfigKey(key);
  const auths: JsonRecord = {};
  for (const [name, value] of Object.entries(isRecord(config.auths) ? config.auths : {})) {
    if (normalizeConfigKey(name) !== target) auths[name] = value;
  }
  auths[key] = { auth: toBase64(utf8(`${username}:${password}`)) };
  return `${JSON.stringify({ ...config, auths }, null, "\t")}\n`;
}

/** The credential helper a config names for `key` (`credHelpers`, else `credsStore`). */
function credentialHelperFor(text: string | undefined, key: string): string | undefined {
  if (text === undefined) return undefined;
  try {
    const config = parseJson(text, "config.json");
    if (!isRecord(config)) return undefined;
    const target = normalizeConfigKey(key);
    const helpers = isRecord(config.credHelpers) ? config.credHelpers : {};
    for (const [name, helper] of Object.entries(helpers)) {
      if (normalizeConfigKey(name) === target && typeof helper === "string" && helper !== "") {
        return helper;
      }
    }
    return typeof config.credsStore === "string" && config.credsStore !== ""
      ? config.credsStore
      : undefined;
  } catch {
    return undefined;
  }
}

async function readPassword(input: CommandInput): Promise<string> {
  const { flags, ctx, out } = input;
  const given = flags.string("password");
  if (flags.boolean("password-stdin")) {
    if (given !== undefined) {
      throw new CosignError("CLI_USAGE", "Pass either --password or --password-stdin, not both");
    }
    const bytes = await ctx.readFile("-", { maxBytes: 64 * 1024, what: "the password" });
    return new TextDecoder().decode(bytes).replace(/\r?\n$/, "");
  }
  if (given !== undefined) {
    out.warn("Using --password on the command line is insecure: use --password-stdin");
    return given;
  }
  if (ctx.prompt !== undefined) return await ctx.prompt("Password: ", { hidden: true });
  throw new CosignError("CLI_USAGE", "login needs --password-stdin or --password (no terminal)");
}

async function writeConfig(path: string, text: string): Promise<void> {
  const dir = path.slice(0, path.lastIndexOf("/"));
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const temporary = `${path}.tmp-${crypto.randomUUID()}`;
  await Deno.writeTextFile(temporary, text, { mode: 0o600, createNew: true });
  try {
    await Deno.chmod(temporary, 0o600);
    await Deno.rename(temporary, path);
  } catch (error) {
    await Deno.remove(temporary).catch(() => {});
    throw error;
  }
}

/** Check credentials against a registry and save them in the docker config. */
export const login: CommandRun = async (input) => {
  const { ctx, flags, out } = input;
  let registry: string;
  try {
    registry = parseRegistry(input.args[0]!.replace(/^https?:\/\//, "").replace(/\/.*$/, ""));
  } catch (error) {
    throw new CosignError(
      "CLI_USAGE",
      `Invalid registry "${input.args[0]}": ${errorMessage(error)}`,
      {
        cause: error,
      },
    );
  }
  if (registry === "docker.io" || registry === "registry-1.docker.io") {
    registry = DOCKER_HUB_REGISTRY;
  }
  const username = flags.string("username");
  if (username === undefined || username === "") {
    throw new CosignError("CLI_USAGE", "login needs -u/--username");
  }
  const password = await readPassword(input);
  if (password === "") throw new CosignError("CLI_USAGE", "login needs a non-empty password");

  const client = new RegistryClient({
    fetch: ctx.fetch,
    credentials: createCredentialResolver({
      username,
      password,
      explicitFor: [registry],
      keychain: false,
    }),
    insecure: flags.boolean("allow-insecure-registry") || flags.boolean("allow-http-registry"),
    signal: input.signal,
    ...(out.verbose ? { onExchange: (x) => out.debug(`${x.method} ${x.url} -> ${x.status}`) } : {}),
  });
  try {
    await client.ping(registry);
  } catch (error) {
    if (isCosignError(error, "OCI_UNAUTHORIZED")) {
      throw new CosignError(
        "OCI_UNAUTHORIZED",
        `Cannot log in to "${registry}" as "${username}": the registry refused the credentials (check the user name and password)`,
        { cause: error },
      );
    }
    throw error;
  }
  const path = resolvePath(ctx, dockerConfigFile(ctx.env));
  let existing: string | undefined;
  try {
    const bytes = await ctx.readFile(path, {
      maxBytes: MAX_CONFIG_BYTES,
      what: "the docker config",
      code: "OCI_CREDENTIALS_INVALID",
    });
    existing = new TextDecoder().decode(bytes);
  } catch (error) {
    if (!(error instanceof CosignError && error.cause instanceof Deno.errors.NotFound)) throw error;
  }
  const key = configKeyFor(registry);
  await writeConfig(path, setDockerConfigAuth(existing, key, username, password, path));
  out.info(`Logged in to ${registry} as ${username}; credentials saved in ${path}`);
  const helper = credentialHelperFor(existing, key);
  if (helper !== undefined) {
    out.warn(
      `${path} names the credential helper "docker-credential-${helper}" for ${registry}: it is asked first, and what it returns wins over the saved entry`,
    );
  }
};
