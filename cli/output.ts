/**
 * The one place the CLI writes to stdout and stderr.
 *
 * Results go to stdout (or `--output-file`); progress, check lists, warnings and errors go to
 * stderr (cosign-spec.md gotcha 25). Colour only on a terminal and never with `NO_COLOR`.
 *
 * @module
 */

import { CosignError } from "../lib/errors.ts";
import type { CliContext } from "./context.ts";

const encoder = new TextEncoder();

const COLORS = { red: 31, green: 32, yellow: 33, bold: 1, dim: 2 } as const;

/** Renders results and messages for one command run. */
export class Output {
  readonly #ctx: CliContext;
  readonly #verbose: boolean;
  readonly #captured: Uint8Array[] = [];
  readonly #toFile: boolean;

  constructor(ctx: CliContext, options: { verbose?: boolean; outputFile?: boolean } = {}) {
    this.#ctx = ctx;
    this.#verbose = options.verbose ?? false;
    this.#toFile = options.outputFile ?? false;
  }

  /** Whether `--verbose` was given. */
  get verbose(): boolean {
    return this.#verbose;
  }

  #colorful(): boolean {
    return this.#ctx.isTerminal.stderr && this.#ctx.env("NO_COLOR") === undefined;
  }

  /** Wrap text in a colour when colour is on. */
  paint(color: keyof typeof COLORS, text: string): string {
    return this.#colorful() ? `\x1b[${COLORS[color]}m${text}\x1b[0m` : text;
  }

  /** Write result text to stdout (or buffer it for `--output-file`). */
  result(text: string | Uint8Array): void {
    const bytes = typeof text === "string" ? encoder.encode(text) : text;
    if (this.#toFile) this.#captured.push(bytes);
    else this.#ctx.stdout.write(bytes);
  }

  /** Write one result line to stdout. */
  line(text: string): void {
    this.result(`${text}\n`);
  }

  /** Write a JSON result (one line). */
  json(value: unknown): void {
    this.line(JSON.stringify(value));
  }

  /** The result bytes buffered for `--output-file`. */
  captured(): Uint8Array[] {
    return this.#captured;
  }

  /** A progress or informational line on stderr. */
  info(text: string): void {
    this.#ctx.stderr.write(encoder.encode(`${text}\n`));
  }

  /** A warning on stderr. */
  warn(text: string): void {
    this.info(`${this.paint("yellow", "WARNING:")} ${text}`);
  }

  /** A line on stderr only with `--verbose`. */
  debug(text: string): void {
    if (this.#verbose) this.info(this.paint("dim", text));
  }

  /** Report a failure: one line, plus the cause chain with `--verbose`. */
  error(error: unknown): void {
    this.info(`${this.paint("red", "Error:")} ${describeError(error)}`);
    if (!this.#verbose) return;
    let cause = error instanceof Error ? error.cause : undefined;
    for (let depth = 0; cause !== undefined && depth < 10; depth++) {
      this.info(`  caused by: ${describeError(cause)}`);
      cause = cause instanceof Error ? cause.cause : undefined;
    }
    if (error instanceof Error && !(error instanceof CosignError) && error.stack) {
      this.info(this.paint("dim", error.stack));
    }
  }
}

/** The likely fix for failures whose message does not already say it. */
const FIXES: Readonly<Record<string, string>> = {
  VERIFY_NO_SIGNATURES:
    "sign the image first, or set COSIGN_REPOSITORY to where its signatures are stored",
  VERIFY_NO_MATCHING_SIGNATURE:
    "check --key, or --certificate-identity and --certificate-oidc-issuer, and --trusted-root",
  VERIFY_NO_CERTIFICATE: "these signatures were made with a key: verify with --key",
  VERIFY_IMAGE_TAG_NOT_FOUND: "check the image name and tag",
  VERIFY_NO_ATTESTATIONS: "attest the image first, or check COSIGN_REPOSITORY",
  VERIFY_NO_MATCHING_ATTESTATION: "pick one of the types found with --type",
  KEY_WRONG_PASSWORD: "set COSIGN_PASSWORD to the key's password",
  OCI_MANIFEST_UNKNOWN: "check the image name, tag or digest",
  OCI_NAME_UNKNOWN: "check the repository name",
  OCI_INSECURE_REGISTRY: "pass --allow-insecure-registry to allow plain HTTP",
};

/** One line for an error: the message, the code for library errors, and the likely fix. */
export function describeError(error: unknown): string {
  if (error instanceof CosignError) {
    const fix = FIXES[error.code];
    return `${error.message} [${error.code}]${fix ? ` (fix: ${fix})` : ""}`;
  }
  if (error instanceof Error) return error.message.split("\n")[0] ?? error.name;
  return String(error);
}
