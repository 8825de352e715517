/**
 * `admission test`: policy-controller's tester. Check one image against the policies, as the
 * webhook would for the workload in `--resource`, and print the decision and the reasons.
 *
 * @module
 */

import { CosignError, errorMessage } from "../../lib/errors.ts";
import { parseYaml } from "../../lib/util/yaml.ts";
import { formatImageReference, parseImageReference, withDigest } from "../../lib/oci/reference.ts";
import { formatProblems } from "../../lib/admission/field_errors.ts";
import { AdmissionController } from "../../lib/admission/controller.ts";
import { readWorkload, type Workload } from "../../lib/admission/workload.ts";
import type { CommandRun } from "../spec.ts";
import { createRegistryClient } from "../options/registry.ts";
import { loadPolicies, noMatchPolicy } from "./_policies.ts";

/** Most bytes of a resource file. */
const MAX_RESOURCE_BYTES = 4 << 20;

/** Check the image; exit 1 when it is denied. */
export const admissionTest: CommandRun = async (input) => {
  const { flags, ctx, out } = input;
  const image = flags.string("image");
  if (image === undefined) {
    throw new CosignError("CLI_USAGE", "Give the image to check with --image");
  }
  const policies = await loadPolicies(input);
  let workload: Workload | undefined;
  const resourcePath = flags.string("resource");
  if (resourcePath !== undefined) {
    const bytes = await ctx.readFile(resourcePath, {
      maxBytes: MAX_RESOURCE_BYTES,
      what: "resource",
    });
    try {
      workload = readWorkload(parseYaml(new TextDecoder().decode(bytes)));
    } catch (error) {
      throw new CosignError(
        "CLI_USAGE",
        `Cannot use resource "${resourcePath}": ${errorMessage(error)}`,
        {
          cause: error,
        },
      );
    }
  }
  const client = createRegistryClient(input);
  // The tester resolves a tag, as policy-controller's does; the webhook itself refuses tags.
  let ref = parseImageReference(image);
  if (ref.digest === undefined) ref = withDigest(ref, await client.resolveDigest(ref));
  const resolved = formatImageReference(ref);
  const controller = new AdmissionController({
    policies,
    client,
    noMatchPolicy: noMatchPolicy(input),
    timeoutMs: 60_000,
  });
  const decision = await controller.checkImage(resolved, "image", workload ? { workload } : {});
  const errors = formatProblems(decision.problems.filter((p) => p.level === "error"));
  const warnings = formatProblems(decision.problems.filter((p) => p.level === "warning"));
  const allowed = errors.length === 0;
  if (flags.string("output") === "json") {
    out.json({
      image,
      digest: ref.digest,
      allowed,
      errors,
      warnings,
      policies: decision.verdicts.map((v) => ({
        name: v.policy,
        mode: v.mode,
        passed: v.passed,
        errors: v.errors,
        ...(v.result ? { result: v.result } : {}),
      })),
    });
  } else {
    out.line(`Image: ${image}${resolved === image ? "" : ` (${resolved})`}`);
    if (decision.verdicts.length === 0) out.line("Policies: none matched");
    for (const verdict of decision.verdicts) {
      const mode = verdict.mode === "warn" ? " (warn mode)" : "";
      out.line(`Policy "${verdict.policy}"${mode}: ${verdict.passed ? "passed" : "failed"}`);
      for (const error of verdict.errors) out.line(`  - ${error}`);
    }
    out.line(
      `Decision: ${allowed ? warnings.length > 0 ? "allowed with warnings" : "allowed" : "denied"}`,
    );
    for (const line of [...errors, ...warnings]) out.line(`  ${line.replace(/\n/g, "\n    ")}`);
  }
  return allowed ? 0 : 1;
};
