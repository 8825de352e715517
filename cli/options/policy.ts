/**
 * `--policy FILE` (`POLICY_FLAG` in `flags.ts`) of `verify-attestation` and `verify-blob-attestation` (cosign
 * `verify_attestation.go`): each file is a Rego (`.rego`) or CUE (`.cue`) policy, read through
 * `ctx.readFile` (bounded) and compiled before anything is fetched; then every verified
 * attestation must pass them all (`lib/policy/attestation.ts`).
 *
 * Without `--policy` nothing of the policy engines loads: `lib/policy/` is imported on demand
 * here, the CUE wasm only for a `.cue` policy.
 *
 * @module
 */

import { CosignError } from "../../lib/errors.ts";
import type { AttestationPolicies, PolicySource } from "../../lib/policy/attestation.ts";
import type { CommandInput } from "../spec.ts";

/** Largest policy file read: the Rego engine's cap on one module. */
const MAX_POLICY_FILE_BYTES = 1 << 20;

/** The compiled policies and how to check statements against them. */
export interface PolicyCheck {
  readonly policies: AttestationPolicies;
  /** Throws `POLICY_DENIED` (one line with every message) unless every statement passes. */
  readonly enforce: (subject: string, statements: readonly Uint8Array[]) => Promise<string>;
}

/**
 * Read and compile `--policy` files; undefined when none is given. A file of another extension
 * fails as in cosign (`invalid policy format, expected .cue or .rego`), a policy that does not
 * compile fails with its error: both before anything is fetched.
 */
export async function loadPolicyCheck(
  input: CommandInput,
  predicateType: string,
): Promise<PolicyCheck | undefined> {
  const paths = input.flags.list("policy");
  if (paths.length === 0) return undefined;
  const { checkAttestationPolicy, compileAttestationPolicies, denialError, policyLanguageOf } =
    await import("../../lib/policy/attestation.ts");
  const sources: PolicySource[] = [];
  for (const path of paths) {
    const language = policyLanguageOf(path);
    if (language === undefined) {
      throw new CosignError(
        "CLI_USAGE",
        `Invalid policy format "${path}": expected .cue or .rego`,
      );
    }
    const bytes = await input.ctx.readFile(path, {
      maxBytes: MAX_POLICY_FILE_BYTES,
      what: "policy",
    });
    sources.push({ name: path, language, source: new TextDecoder().decode(bytes) });
  }
  const policies = await compileAttestationPolicies(sources);
  return {
    policies,
    enforce: async (subject, statements) => {
      const decision = await checkAttestationPolicy(statements, policies, {
        predicateType,
        now: input.ctx.now(),
      });
      if (!decision.allowed) throw denialError(subject, decision);
      return `The attestations passed the policies ${policies.names.join(", ")}`;
    },
  };
}
