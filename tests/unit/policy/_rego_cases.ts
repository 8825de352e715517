/**
 * Runners for the OPA and regorus conformance cases in `../shared/interop/policy/` (formats in
 * that folder's README.md): load a YAML file, run each case against the Rego engine, and say
 * whether it passed, failed (and why) or was skipped (and why).
 *
 * OPA cases: `want_result` is a list of binding maps (sets as arrays, compared after sorting
 * with `sort_bindings`), errors are matched on `want_error_code` (OPA's code name) and
 * `want_error` (a substring of the message). Results are compared as a multiset.
 *
 * regorus cases: the harness of `src/tests/interpreter/mod.rs` — a single result yields its
 * bindings object, or its expression values; several results yield one bindings object or one
 * array of expression values each; `many!`, `set!`, `object!` encodings; `strict` defaults to
 * true. regorus's error texts are its own wording, so an `error` case passes when evaluation
 * fails; whether the text also matches is counted separately.
 *
 * @module
 */

import {
  compileRego,
  equalValues,
  fromJson,
  RegoError,
  RegoObject,
  RegoSet,
  type RegoSyntax,
  toJson,
  type Value,
} from "../../../lib/policy/rego/mod.ts";
import { compareValues, stringifyJson } from "../../../lib/policy/rego/value.ts";
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

/** Read a case file: `{cases: [...]}`. */
export function readCases(path: string, keepKeys = false): Record<string, unknown>[] {
  // regorus cases may use non-string keys (`null: 1`): keep them with mapAsMap.
  const doc = parseYaml(Deno.readTextFileSync(path), {
    intAsBigInt: true,
    maxBytes: 1 << 22,
    mapAsMap: keepKeys,
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

function modulesOf(c: Record<string, unknown>, prefix: string): { name: string; source: string }[] {
  const mods = Array.isArray(c.modules) ? c.modules : [];
  return mods.map((m, i) => ({
    name: `${prefix}${i}${prefix === "test-" ? ".rego" : ""}`,
    source: String(m),
  }));
}

function sortDeep(v: Value): Value {
  return Array.isArray(v) ? [...v].sort(compareValues) : v;
}

/** Run one OPA case. */
export function runOpaCase(
  file: string,
  c: Record<string, unknown>,
  syntax: RegoSyntax,
  skips: SkipList,
): CaseOutcome {
  const note = String(c.note ?? "");
  const skip = skips.get(`${file}#${note}`) ?? skips.get(file);
  if (skip !== undefined) return { file, note, status: "skip", reason: skip };
  const fail = (reason: string): CaseOutcome => ({ file, note, status: "fail", reason });
  const wantCode = typeof c.want_error_code === "string" ? c.want_error_code : undefined;
  const wantError = typeof c.want_error === "string" ? c.want_error : undefined;
  const expectError = wantCode !== undefined || wantError !== undefined;
  let results: Map<string, Value>[];
  try {
    const policy = compileRego(modulesOf(c, "test-"), { syntax });
    let input: unknown = c.input;
    if (typeof c.input_term === "string") {
      const rs = policy.evaluateValues(`__input__ := ${c.input_term}`);
      input = rs[0]?.bindings.get("__input__");
    }
    const options = {
      data: c.data ?? {},
      strict: c.strict_error === true,
      now: 1_700_000_000_000_000_000n,
      ...(input === undefined ? {} : { input }),
    };
    results = policy.evaluateValues(String(c.query), options).map((r) => new Map(r.bindings));
  } catch (e) {
    if (!expectError) return fail(`unexpected error: ${describe(e)}`);
    if (!(e instanceof RegoError)) return fail(`not a RegoError: ${describe(e)}`);
    if (wantCode !== undefined && e.regoCode !== wantCode) {
      return fail(`error code ${e.regoCode}, want ${wantCode} (${e.message})`);
    }
    if (wantError !== undefined && !e.message.includes(wantError)) {
      return fail(`error ${JSON.stringify(e.message)} lacks ${JSON.stringify(wantError)}`);
    }
    return { file, note, status: "pass" };
  }
  if (expectError) {
    return fail(
      `expected error ${wantCode ?? ""} ${wantError ?? ""}, got ${results.length} result(s)`,
    );
  }
  if (!Array.isArray(c.want_result)) return fail("case has neither want_result nor an error");
  const sortBindings = c.sort_bindings === true;
  const norm = (m: Map<string, Value>): Value =>
    new RegoObject([...m].map(([k, v]) => [k, sortBindings ? sortDeep(v) : v] as [Value, Value]));
  const got = results.map((m) => norm(new Map([...m].map(([k, v]) => [k, fromJson(toJson(v))]))));
  let want: Value[];
  try {
    want = c.want_result.map((w) => {
      const obj = fromJson(w);
      if (!(obj instanceof RegoObject)) throw new TypeError("want_result entries must be maps");
      return norm(new Map(obj.sorted().map(([k, v]) => [String(k), v])));
    });
  } catch (e) {
    return fail(`bad want_result: ${describe(e)}`);
  }
  got.sort(compareValues);
  want.sort(compareValues);
  if (got.length !== want.length || got.some((g, i) => !equalValues(g, want[i] as Value))) {
    return fail(`got ${show(got.map(toJson))}, want ${show(want.map(toJson))}`);
  }
  return { file, note, status: "pass" };
}

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
    const policy = compileRego(modulesOf(c, "rego_"), { syntax });
    const inputs = c.input === undefined ? [undefined] : manyOf(c.input) ?? [c.input];
    for (const raw of inputs) {
      const input = raw === undefined ? undefined : processValue(raw);
      const rs = policy.evaluateValues(String(c.query), {
        data: processValue(c.data ?? {}) ?? {},
        strict,
        now: 1_700_000_000_000_000_000n,
        print: (m, loc) => prints.push(`${loc.file}:${loc.row}: ${m}`),
        ...(input === undefined ? {} : { input }),
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
