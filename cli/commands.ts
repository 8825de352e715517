/**
 * cosign's command-line surface as plain data: every command, its help and flags
 * (cosign-spec.md section 10), assembled from the command families' tables (`keys/`, `image/`,
 * `attest/`, `blob/`, `registry/`, `policy/`, `trust/`, `serve/`, `admission/`, `tools/`).
 * Implementations load on demand, so `--help` and completion read only the tables.
 *
 * @module
 */

import type { CommandSpec } from "./spec.ts";
import { ADMISSION_COMMANDS } from "./admission/spec.ts";
import { ATTESTATION_COMMANDS } from "./attest/spec.ts";
import { BLOB_COMMANDS } from "./blob/spec.ts";
import { IMAGE_COMMANDS } from "./image/spec.ts";
import { KEY_COMMANDS } from "./keys/spec.ts";
import { POLICY_COMMANDS } from "./policy/spec.ts";
import { REGISTRY_COMMANDS } from "./registry/spec.ts";
import { SERVE_COMMANDS } from "./serve/spec.ts";
import { TOOL_COMMANDS } from "./tools/spec.ts";
import { TRUST_COMMANDS } from "./trust/spec.ts";

/** Every command, in help order: by family. */
export const COMMANDS: readonly CommandSpec[] = [
  ...KEY_COMMANDS,
  ...IMAGE_COMMANDS,
  ...ATTESTATION_COMMANDS,
  ...BLOB_COMMANDS,
  ...REGISTRY_COMMANDS,
  ...POLICY_COMMANDS,
  ...TRUST_COMMANDS,
  ...SERVE_COMMANDS,
  ...ADMISSION_COMMANDS,
  ...TOOL_COMMANDS,
];
