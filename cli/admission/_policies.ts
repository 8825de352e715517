/**
 * What `admission serve` and `admission test` share: reading `--policy` files and directories
 * (a mounted ConfigMap is a directory), the trust roots, and compiling the policies for
 * enforcement. Files are read through `ctx.readFile`, bounded; a directory's entries are its
 * regular `.yaml`, `.yml` and `.json` files, hidden entries (a ConfigMap mount's `..data`) left
 * out.
 *
 * @module
 */

import { CosignError } from "../../lib/errors.ts";
import { parseTrustedRoot, type TrustedRoot } from "../../lib/trust/trusted_root.ts";
import { type ClusterImagePolicy, parseClusterImagePolicies } from "../../lib/admission/policy.ts";
import {
  type CompiledPolicy,
  compilePolicy,
  type TrustConfig,
} from "../../lib/admission/authority.ts";
import { defaultPolicyEngine } from "../../lib/admission/policy_engine.ts";
import type { NoMatchPolicy } from "../../lib/admission/controller.ts";
import type { CommandInput } from "../spec.ts";
import { resolvePath } from "../context.ts";
import { loadTrustedRoot, trustOverridesSet } from "../options/trust.ts";

/** Most bytes of one policy file. */
const MAX_POLICY_BYTES = 4 << 20;
/** Most bytes of a trusted root. */
const MAX_TRUSTED_ROOT_BYTES = 4 << 20;
/** Most policy files read from the directories given. */
const MAX_POLICY_FILES = 1000;

/** The policy files `--policy` names: files as given, directories' YAML and JSON files. */
async function policyFiles(input: CommandInput, optional: boolean): Promise<string[]> {
  const paths = input.flags.list("policy");
  if (paths.length === 0 && !optional) {
    throw new CosignError("CLI_USAGE", "Give at least one --policy FILE or DIR");
  }
  const files: string[] = [];
  for (const path of paths) {
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(resolvePath(input.ctx, path));
    } catch (error) {
      throw new CosignError(
        "CLI_USAGE",
        `Cannot read policy "${path}": ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    if (!info.isDirectory) {
      files.push(path);
      continue;
    }
    const entries: string[] = [];
    for await (const entry of Deno.readDir(resolvePath(input.ctx, path))) {
      if (entry.name.startsWith(".") || !/\.(ya?ml|json)$/.test(entry.name)) continue;
      entries.push(entry.name);
      if (entries.length > MAX_POLICY_FILES) {
        throw new CosignError(
          "CLI_USAGE",
          `More than ${MAX_POLICY_FILES} policy files in "${path}"`,
        );
      }
    }
    files.push(...entries.sort().map((name) => `${path.replace(/\/$/, "")}/${name}`));
  }
  return files;
}

/** The parse options the flags set. */
export function parseOptions(input: CommandInput): { failOnEmptyAuthorities: boolean } {
  return { failOnEmptyAuthorities: !input.flags.boolean("allow-empty-authorities") };
}

/** Read and validate every policy `--policy` names (none is an error unless `optional`). */
export async function readPolicies(
  input: CommandInput,
  optional = false,
): Promise<ClusterImagePolicy[]> {
  const policies: ClusterImagePolicy[] = [];
  for (const file of await policyFiles(input, optional)) {
    const bytes = await input.ctx.readFile(file, {
      maxBytes: MAX_POLICY_BYTES,
      what: "policy",
      code: "ADMISSION_POLICY_INVALID",
    });
    policies.push(
      ...parseClusterImagePolicies(new TextDecoder().decode(bytes), {
        origin: file,
        ...parseOptions(input),
      }),
    );
  }
  const names = new Map<string, string>();
  for (const policy of policies) {
    const other = names.get(policy.name);
    if (other !== undefined) {
      throw new CosignError(
        "ADMISSION_POLICY_INVALID",
        `Two ClusterImagePolicies are named "${policy.name}" ("${other}" and "${policy.origin}")`,
      );
    }
    names.set(policy.name, policy.origin);
  }
  return policies;
}

/**
 * `--trusted-root` (else cosign's `SIGSTORE_*` overrides) and every `--trust-root NAME=FILE`.
 * The webhook does not go to TUF on its own: it must start the same way every time, also where
 * no mirror can be reached, so its trust is files (`dcosign initialize` and `trusted-root create`
 * make them). Without any, keyless policies fail closed when they are evaluated.
 */
export async function readTrust(input: CommandInput): Promise<TrustConfig> {
  const explicit = input.flags.string("trusted-root") !== undefined ||
    trustOverridesSet(input).length > 0;
  const trustedRoot = explicit ? (await loadTrustedRoot(input)).trustedRoot : undefined;
  const trustRoots: Record<string, TrustedRoot> = {};
  for (const value of input.flags.list("trust-root")) {
    const eq = value.indexOf("=");
    if (eq <= 0) {
      throw new CosignError("CLI_USAGE", `Invalid --trust-root "${value}": use NAME=FILE`);
    }
    const bytes = await input.ctx.readFile(value.slice(eq + 1), {
      maxBytes: MAX_TRUSTED_ROOT_BYTES,
      what: `trust root "${value.slice(0, eq)}"`,
      code: "TRUST_MISSING",
    });
    trustRoots[value.slice(0, eq)] = parseTrustedRoot(bytes);
  }
  return { ...(trustedRoot ? { trustedRoot } : {}), trustRoots };
}

/** A compiler for validated policies: the trust roots, the engine, remote policies fetched. */
export function policyCompiler(
  input: CommandInput,
  trust: TrustConfig,
): (policy: ClusterImagePolicy) => Promise<CompiledPolicy> {
  const engine = defaultPolicyEngine();
  return async (policy) => {
    for (const warning of policy.warnings) {
      input.out.warn(`${policy.origin}: ${warning.replace(/\n/g, ": ")}`);
    }
    return await compilePolicy(policy, { trust, engine, fetch: input.ctx.fetch });
  };
}

/** Read, validate and compile the policies for enforcement (`optional`: none is fine). */
export async function loadPolicies(
  input: CommandInput,
  options: { optional?: boolean; trust?: TrustConfig } = {},
): Promise<CompiledPolicy[]> {
  const policies = await readPolicies(input, options.optional ?? false);
  const compile = policyCompiler(input, options.trust ?? await readTrust(input));
  const compiled: CompiledPolicy[] = [];
  for (const policy of policies) compiled.push(await compile(policy));
  return compiled;
}

/** `--no-match-policy`. */
export function noMatchPolicy(input: CommandInput): NoMatchPolicy {
  return (input.flags.string("no-match-policy") ?? "deny") as NoMatchPolicy;
}
