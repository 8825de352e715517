/**
 * The regorus adapter over the library's case runner (`lib/policy/opa_cases.ts`): regorus's
 * interpreter cases in `../shared/interop/policy/regorus-cases/` (format in that folder's
 * README.md) are turned into OPA cases and evaluated by `evaluateOpaCase`; what stays here is
 * regorus's own harness (`src/tests/interpreter/mod.rs`): modules named `rego_<i>`, `strict`
 * defaulting to true, the `many!`, `set!`, `object!` and `#undefined` encodings, and its result
 * shape — a single result yields its bindings object, or its expression values; several results
 * yield one bindings object or one array of expression values each, compared in order.
 * regorus's error texts are its own wording, so an `error` case passes when evaluation fails;
 * whether the text also matches is counted separately.
 *
 * @module
 */

import { evaluateOpaCase, type OpaCase } from "../../../lib/policy/opa_cases.ts";
import {
  equalValues,
  fromJson,
  RegoError,
  RegoObject,
  RegoSet,
  type RegoSyntax,
  stringifyJson,
  toJson,
  type Value,
} from "../../../lib/policy/rego/mod.ts";
import { parseYaml } from "../../../lib/util/yaml.ts";

/** What happened to one case. */
export interface CaseOutcome {
  readonly file: string;
  readonly note: string;
  readonly status: "pass" | "fail" | "skip";
  /** Why it failed or was skipped. */
  readonly reason?: string;
  /** regorus `error` cases: whether the message also contained regorus's text. */
  readonly errorTextMatched?: boolean;
}

/** Cases skipped on purpose, by file (or `file#note`), with the reason. */
export type SkipList = ReadonlyMap<string, string>;

function isRecord(x: unknown): x is Record<string, unknown> {
  return x !== null && typeof x === "object" && !Array.isArray(x);
}

/** Read a regorus case file: `{cases: [...]}`. */
export function readRegorusCases(path: string): Record<string, unknown>[] {
  // regorus cases may use non-string keys (`null: 1`): keep them with mapAsMap.
  const doc = parseYaml(Deno.readTextFileSync(path), {
    intAsBigInt: true,
    maxBytes: 1 << 22,
    mapAsMap: true,
  });
  const record = (x: unknown): unknown =>
    x instanceof Map ? Object.fromEntries([...x].map(([k, v]) => [String(k), v])) : x;
  const top = record(doc);
  if (!isRecord(top) || !Array.isArray(top.cases)) throw new SyntaxError(`${path}: no cases`);
  return top.cases.map(record).filter(isRecord);
}

function describe(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

function show(v: unknown): string {
  try {
    return stringifyJson(v as never).slice(0, 400);
  } catch {
    return String(v);
  }
}

/** The clock of every case (regorus's harness fixes one too). */
export const CASE_NOW = 1_700_000_000_000_000_000n;

/** regorus's `process_value`: `set!`, `object!` and `#undefined` encodings. */
function processValue(v: unknown): Value | undefined {
  if (v === "#undefined") return undefined;
  if (Array.isArray(v)) return v.map((x) => processValue(x) ?? null);
  if (v instanceof Map) {
    if (v.size === 1 && Array.isArray(v.get("set!"))) {
      return processValue({ "set!": v.get("set!") });
    }
    if (v.size === 1 && Array.isArray(v.get("object!"))) {
      return processValue({ "object!": v.get("object!") });
    }
    const o = new RegoObject();
    for (const [k, x] of v) {
      const pv = processValue(x);
      if (pv !== undefined) o.set(processValue(k) ?? null, pv);
    }
    return o;
  }
  if (isRecord(v)) {
    const keys = Object.keys(v);
    if (keys.length === 1 && Array.isArray(v["set!"])) {
      return new RegoSet((v["set!"] as unknown[]).map((x) => processValue(x) ?? null));
    }
    if (keys.length === 1 && Array.isArray(v["object!"])) {
      const o = new RegoObject();
      for (const item of v["object!"] as unknown[]) {
        const get = (k: string) =>
          item instanceof Map ? item.get(k) : isRecord(item) ? item[k] : undefined;
        if (!(item instanceof Map) && !isRecord(item)) {
          throw new TypeError("object! items need key and value");
        }
        o.set(processValue(get("key")) ?? null, processValue(get("value")) ?? null);
      }
      return o;
    }
    const o = new RegoObject();
    for (const [k, x] of Object.entries(v)) {
      const pv = processValue(x);
      if (pv !== undefined) o.set(k, pv);
    }
    return o;
  }
  return fromJson(v);
}

function manyOf(v: unknown): unknown[] | undefined {
  if (v instanceof Map) {
    return Array.isArray(v.get("many!")) ? v.get("many!") as unknown[] : undefined;
  }
  return isRecord(v) && Array.isArray(v["many!"]) ? v["many!"] as unknown[] : undefined;
}

/** Run one regorus case. */
export function runRegorusCase(
  file: string,
  c: Record<string, unknown>,
  syntax: RegoSyntax,
  skips: SkipList,
): CaseOutcome {
  const note = String(c.note ?? "");
  const skip = skips.get(`${file}#${note}`) ?? skips.get(file);
  if (skip !== undefined) return { file, note, status: "skip", reason: skip };
  if (c.skip === true) return { file, note, status: "skip", reason: "marked skip in regorus" };
  const fail = (reason: string): CaseOutcome => ({ file, note, status: "fail", reason });
  const wantError = typeof c.error === "string" ? c.error : undefined;
  const strict = c.strict === undefined ? true : c.strict === true;
  const prints: string[] = [];
  const results: Value[] = [];
  try {
    const modules = Array.isArray(c.modules) ? c.modules.map(String) : [];
    const data = processValue(c.data ?? {}) ?? {};
    const inputs = c.input === undefined ? [undefined] : manyOf(c.input) ?? [c.input];
    for (const raw of inputs) {
      const input = raw === undefined ? undefined : processValue(raw);
      const opaCase: OpaCase = {
        note,
        query: String(c.query),
        modules,
        data,
        ...(input === undefined ? {} : { input }),
        sortBindings: false,
        strictError: strict,
      };
      const rs = evaluateOpaCase(opaCase, {
        syntax,
        now: CASE_NOW,
        moduleName: (i) => `rego_${i}`,
        print: (m, loc) => prints.push(`${loc.file}:${loc.row}: ${m}`),
      });
      const asValue = (r: (typeof rs)[number]): Value[] =>
        r.bindings.size > 0 ? [new RegoObject([...r.bindings])] : r.expressions;
      if (rs.length === 1) results.push(...asValue(rs[0] as (typeof rs)[number]));
      else {
        for (const r of rs) {
          results.push(r.bindings.size > 0 ? new RegoObject([...r.bindings]) : r.expressions);
        }
      }
    }
  } catch (e) {
    if (wantError === undefined) return fail(`unexpected error: ${describe(e)}`);
    if (!(e instanceof RegoError)) return fail(`not a RegoError: ${describe(e)}`);
    const matched = e.message.includes(wantError);
    return matched ? { file, note, status: "pass", errorTextMatched: true } : {
      file,
      note,
      status: "pass",
      errorTextMatched: false,
      reason: `${e.message} (regorus: ${wantError})`,
    };
  }
  if (wantError !== undefined) {
    return fail(`expected error ${JSON.stringify(wantError)}, got ${show(results.map(toJson))}`);
  }
  if (c.want_result === undefined) {
    return c.no_result === true ? { file, note, status: "pass" } : fail("no expectation");
  }
  let want: (Value | undefined)[];
  try {
    want = (manyOf(c.want_result) ?? [c.want_result]).map(processValue);
  } catch (e) {
    return fail(`bad want_result: ${describe(e)}`);
  }
  if (results.length !== want.length) {
    return fail(
      `got ${results.length} result(s) ${show(results.map(toJson))}, want ${want.length} ${
        show(want.map((w) => w === undefined ? "#undefined" : toJson(w)))
      }`,
    );
  }
  for (let i = 0; i < want.length; i++) {
    const w = want[i];
    if (w === undefined || !equalValues(results[i] as Value, w)) {
      return fail(
        `result ${i}: got ${show(toJson(results[i] as Value))}, want ${
          show(w === undefined ? "#undefined" : toJson(w))
        }`,
      );
    }
  }
  if (Array.isArray(c.want_prints)) {
    const wp = c.want_prints.map(String);
    if (wp.length !== prints.length || wp.some((p, i) => p !== prints[i])) {
      return fail(`prints ${show(prints)}, want ${show(wp)}`);
    }
  }
  return { file, note, status: "pass" };
}
