/**
 * The policy commands as plain data: `policy eval` (`opa eval` for Rego policies) and
 * `policy test` (OPA's YAML test cases). Implementations load on demand from `eval.ts` and
 * `test.ts`; the Rego engine loads only when one of them runs.
 *
 * @module
 */

import type { CommandSpec } from "../spec.ts";

/** `policy eval` and `policy test`. */
export const POLICY_COMMANDS: readonly CommandSpec[] = [
  {
    name: "policy",
    summary: "Evaluate and test Rego policies (opa eval, OPA's YAML test cases)",
    subcommands: [
      {
        name: "eval",
        summary: "Evaluate a Rego query against policies, input and data (like opa eval)",
        usage: "QUERY",
        description:
          "Evaluate a Rego query with dcosign's Rego engine and print the result in OPA's JSON\n" +
          'shape: {"result": [{"expressions": [{"value", "text", "location"}], "bindings"}]},\n' +
          "or {} when the query is undefined (--format values, bindings and raw print what\n" +
          "opa eval prints). Exits 0 when the query evaluated, whatever its value (--fail: 1\n" +
          "when undefined, --fail-defined: 1 when defined). Policies are Rego v1 unless\n" +
          "--v0-compatible (cosign's and policy-controller's policies are v0). Evaluation is\n" +
          "bounded in steps, time and depth.",
        args: { min: 1, max: 1 },
        examples: [
          "dcosign policy eval --policy policy.rego --input statement.json data.signature.allow",
          "dcosign policy eval --v0-compatible --policy sigstore.rego --input result.json \\\n" +
          "    'isCompliant = data.sigstore.isCompliant'",
        ],
        flags: [
          {
            name: "policy",
            short: "p",
            type: "list",
            value: "FILE",
            description: "A Rego module (repeatable)",
          },
          {
            name: "input",
            short: "i",
            type: "string",
            value: "FILE",
            description: "The input document, JSON or YAML (- reads standard input)",
          },
          {
            name: "data",
            type: "list",
            value: "FILE",
            description:
              "A base data document, a JSON or YAML object merged under data (repeatable)",
          },
          {
            name: "format",
            short: "f",
            type: "string",
            value: "FORMAT",
            default: "json",
            choices: ["json", "values", "bindings", "raw"],
            description: "Output format: json, values, bindings or raw (as opa eval)",
          },
          {
            name: "v0-compatible",
            type: "boolean",
            description: "Parse the policies as Rego v0 (allow { ... }, no if/contains)",
          },
          {
            name: "strict-builtin-errors",
            type: "boolean",
            description: "Built-in errors fail the evaluation instead of making it undefined",
          },
          {
            name: "fail",
            type: "boolean",
            description: "Exit 1 when the query is undefined",
          },
          {
            name: "fail-defined",
            type: "boolean",
            description: "Exit 1 when the query is defined",
          },
        ],
        load: async () => (await import("./eval.ts")).policyEval,
      },
      {
        name: "test",
        summary: "Run a folder of OPA YAML test cases; report each case, fail on any failure",
        usage: "DIR|FILE",
        description:
          "Run test cases in OPA's YAML format (the files of OPA's test/cases/testdata: cases\n" +
          "with modules, query, data, input or input_term, and want_result or want_error_code /\n" +
          "want_error) found in DIR and its subfolders (*.yaml, *.yml). Prints one line per\n" +
          "case (ok, FAIL or skip with the reason) and a summary; exits 1 when a case fails or\n" +
          "a file cannot be read. --exceptions names a YAML file for a corpus that mixes\n" +
          "syntaxes or holds known-bad cases: v0 (files, or folders ending in /, relative to\n" +
          "DIR, written in Rego v0) and skip (FILE or FILE#NOTE to the reason it is skipped).",
        args: { min: 1, max: 1 },
        examples: [
          "dcosign policy test tests/policy-cases",
          "dcosign policy test --v0-compatible --quiet cases/",
          "dcosign policy test --exceptions known.yaml opa/test/cases/testdata/v1",
        ],
        flags: [
          {
            name: "v0-compatible",
            type: "boolean",
            description: "Parse the modules as Rego v0",
          },
          {
            name: "exceptions",
            type: "string",
            value: "FILE",
            description: "Files to parse as Rego v0 and cases to skip, with reasons (YAML)",
          },
          {
            name: "quiet",
            short: "q",
            type: "boolean",
            description: "Print only failing and skipped cases and the summary",
          },
        ],
        load: async () => (await import("./test.ts")).policyTest,
      },
    ],
  },
];
