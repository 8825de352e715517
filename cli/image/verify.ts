/**
 * `verify IMAGE...` (cosign-spec.md sections 9.1-9.5), and the runner and options it shares
 * with `verify-attestation` (`cli/attest/verify_attestation.ts`).
 *
 * Images are verified concurrently (`--max-workers`); each one's outcome is reported, and the
 * exit code is that of the first failure. Output is cosign's: the checks on stderr, the verified
 * payloads as JSON (or text) on stdout.
 *
 * @module
 */

import { fromUtf8, type HashName } from "../../lib/util/bytes.ts";
import { parseJson } from "../../lib/util/json.ts";
import {
  formatImageReference,
  type ImageReference,
  parseImageReference,
} from "../../lib/oci/reference.ts";
import { ANNOTATION } from "../../lib/storage/signatures.ts";
import { findSubject, parseStatement } from "../../lib/payload/statement.ts";
import {
  type ImageVerification,
  type VerifiedImageSignature,
  type VerifyImageOptions,
  verifyImageSignatures,
} from "../../lib/verify/image.ts";
import type { RegistryClient } from "../../lib/oci/client.ts";
import type { CommandInput, CommandRun } from "../spec.ts";
import { exitCodeFor } from "../exit_codes.ts";
import { createRegistryClient, targetRepository } from "../options/registry.ts";
import { resolvePath } from "../context.ts";
import { buildPolicy, onlineLog, parseAnnotations } from "../options/verify.ts";

function legacyOptional(signature: VerifiedImageSignature, base: unknown): Record<string, unknown> {
  const optional: Record<string, unknown> = base && typeof base === "object" ? { ...base } : {};
  const bundle = signature.layerAnnotations?.[ANNOTATION.BUNDLE];
  if (bundle !== undefined) optional.Bundle = parseJson(bundle, "bundle annotation");
  const timestamp = signature.layerAnnotations?.[ANNOTATION.RFC3161_TIMESTAMP];
  if (timestamp !== undefined) {
    optional.RFC3161Timestamp = parseJson(timestamp, "timestamp annotation");
  }
  const certificate = signature.result.certificate;
  if (certificate) {
    const { identity } = certificate;
    if (identity.issuer !== undefined) {
      optional.Issuer = identity.issuer;
      optional["1.3.6.1.4.1.57264.1.1"] = identity.issuer;
    }
    const subject = identity.sans.find((n) => n.type === "email") ??
      identity.sans.find((n) => n.type === "uri") ?? identity.sans[0];
    if (subject) optional.Subject = subject.value;
    const github: [keyof typeof identity.githubWorkflow, string, string][] = [
      ["trigger", "githubWorkflowTrigger", "1.3.6.1.4.1.57264.1.2"],
      ["sha", "githubWorkflowSha", "1.3.6.1.4.1.57264.1.3"],
      ["name", "githubWorkflowName", "1.3.6.1.4.1.57264.1.4"],
      ["repository", "githubWorkflowRepository", "1.3.6.1.4.1.57264.1.5"],
      ["ref", "githubWorkflowRef", "1.3.6.1.4.1.57264.1.6"],
    ];
    for (const [field, name, oid] of github) {
      const value = identity.githubWorkflow[field];
      if (value !== undefined) {
        optional[name] = value;
        optional[oid] = value;
      }
    }
  }
  return optional;
}

/** cosign's JSON element for one verified image signature (section 9.4). */
export function signatureOutput(
  reference: ImageReference,
  verification: ImageVerification,
  signature: VerifiedImageSignature,
): unknown {
  if (signature.envelope) {
    const statement = parseStatement(signature.envelope.payload);
    const [algorithm, hex] = verification.digest.split(":") as [HashName, string];
    const subject = findSubject(statement, algorithm, hex);
    const annotations = subject?.annotations;
    return {
      critical: {
        identity: {
          "docker-reference": formatImageReference(
            reference.tag === undefined
              ? { registry: reference.registry, repository: reference.repository }
              : {
                registry: reference.registry,
                repository: reference.repository,
                tag: reference.tag,
              },
          ),
        },
        image: { "docker-manifest-digest": verification.digest },
        type: statement.predicateType,
      },
      optional: annotations && Object.keys(annotations).length > 0 ? annotations : null,
    };
  }
  const payload = parseJson(signature.payload, "payload") as Record<string, unknown>;
  const optional = legacyOptional(signature, payload.optional);
  return { ...payload, optional: Object.keys(optional).length > 0 ? optional : null };
}

function reportChecks(input: CommandInput, name: string, verification: ImageVerification) {
  const { out } = input;
  const checks = new Set<string>();
  if (input.flags.boolean("check-claims")) checks.add("The cosign claims were validated");
  for (const signature of verification.signatures) {
    for (const check of signature.result.checks) checks.add(check);
  }
  out.info(`\nVerification for ${name} --`);
  out.info("The following checks were performed on each of these signatures:");
  for (const check of checks) out.info(`  - ${check}`);
}

/**
 * Verify `references` with `verifyOne`, `--max-workers` at a time; report each outcome in order
 * (checks and `render` for a success, one error line for a failure) and return the first
 * failure's exit code.
 */
export async function runVerify(
  input: CommandInput,
  verifyOne: (reference: ImageReference) => Promise<ImageVerification>,
  render: (reference: ImageReference, verification: ImageVerification) => void,
  references: readonly ImageReference[] = input.args.map(parseImageReference),
): Promise<number> {
  const { out } = input;
  const workers = Math.max(1, input.flags.integer("max-workers") ?? 10);
  const outcomes: ({ ok: ImageVerification } | { error: unknown })[] = new Array(references.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(workers, references.length) }, async () => {
      while (next < references.length) {
        const index = next++;
        try {
          outcomes[index] = { ok: await verifyOne(references[index]!) };
        } catch (error) {
          outcomes[index] = { error };
        }
      }
    }),
  );
  let code = 0;
  references.forEach((reference, index) => {
    const outcome = outcomes[index]!;
    if ("ok" in outcome) {
      reportChecks(input, formatImageReference(reference), outcome.ok);
      render(reference, outcome.ok);
      for (const reason of outcome.ok.rejected) out.debug(`  rejected ${reason}`);
    } else {
      out.error(outcome.error);
      if (code === 0) code = exitCodeFor(outcome.error);
    }
  });
  return code;
}

/** The image verification options the flags describe (`verify` and `verify-attestation`). */
export async function imageVerifyOptions(
  input: CommandInput,
  client: RegistryClient,
  local: boolean,
): Promise<VerifyImageOptions> {
  const { flags } = input;
  const target = local ? undefined : targetRepository(input);
  const log = await onlineLog(input);
  return {
    client,
    policy: await buildPolicy(input),
    annotations: parseAnnotations(flags.list("annotations")),
    checkClaims: flags.boolean("check-claims"),
    formats: flags.boolean("new-bundle-format") ? ["bundle", "legacy"] : ["legacy"],
    ...(target ? { targetRepository: target } : {}),
    ...(log ? { log } : {}),
  };
}

/** `verify`: check each image's signatures. */
export const verify: CommandRun = async (input) => {
  const { flags, out } = input;
  // --local-image: the arguments are layouts written by `save`, served from their checked files.
  const local = flags.boolean("local-image")
    ? await (await import("../../lib/storage/layout/local_images.ts")).openLocalImages(
      input.args.map((dir) => resolvePath(input.ctx, dir)),
    )
    : undefined;
  const client = createRegistryClient(
    local ? { ...input, ctx: { ...input.ctx, fetch: local.fetch } } : input,
  );
  const options = await imageVerifyOptions(input, client, local !== undefined);
  return await runVerify(
    input,
    (reference) => verifyImageSignatures(reference, options),
    (reference, verification) => {
      if (flags.string("output") === "text") {
        for (const signature of verification.signatures) {
          const leaf = signature.result.certificate;
          if (leaf) {
            out.line(`Certificate subject: ${leaf.identity.san ?? ""}`);
            out.line(`Certificate issuer URL: ${leaf.identity.issuer ?? ""}`);
          }
          out.line(fromUtf8(signature.payload));
        }
      } else {
        out.line(
          JSON.stringify(
            verification.signatures.map((s) => signatureOutput(reference, verification, s)),
          ),
        );
      }
    },
    local?.references,
  );
};
