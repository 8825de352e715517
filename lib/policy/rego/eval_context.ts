/**
 * The evaluation context (what `with` changes: input, replaced `data` paths, replaced
 * functions) with the rule cache that is valid under it, the context a `with` builds
 * ({@link withContext}), and the value selections the evaluator uses (`lookup`, `setPath`).
 *
 * @module
 */

import type { CallTarget, With } from "./ast.ts";
import type { DataNode } from "./compile.ts";
import { EMPTY_OBJECT, RegoObject, RegoSet, type Value } from "./value.ts";

/** A `with data.x as v` replacement. */
export interface Override {
  readonly path: readonly string[];
  readonly value: Value;
}

/** A `with f as g` replacement: a value, or another function. */
export type Mock = { readonly value: Value } | { readonly target: CallTarget };

/** Cache marker for a rule that is undefined. */
export const UNDEF = Symbol("undefined");

/** The evaluation context: what `with` can change, and the rule cache valid under it. */
export class Ctx {
  readonly input: Value | undefined;
  readonly overrides: readonly Override[];
  readonly mocks: ReadonlyMap<string, Mock>;
  readonly cache = new Map<DataNode, Value | typeof UNDEF>();

  constructor(
    input: Value | undefined,
    overrides: readonly Override[],
    mocks: ReadonlyMap<string, Mock>,
  ) {
    this.input = input;
    this.overrides = overrides;
    this.mocks = mocks;
  }

  overrideAt(path: readonly string[]): Override | undefined {
    for (let i = this.overrides.length - 1; i >= 0; i--) {
      const o = this.overrides[i] as Override;
      if (o.path.length === path.length && o.path.every((p, j) => p === path[j])) return o;
    }
    return undefined;
  }

  /** Overrides strictly below `path`. */
  overridesBelow(path: readonly string[]): Override[] {
    return this.overrides.filter((o) =>
      o.path.length > path.length && path.every((p, j) => p === o.path[j])
    );
  }
}

/** The key under which a `with` replacement of a function is stored. */
export function mockKey(t: CallTarget): string {
  return t.kind === "builtin" ? t.name : "data." + t.path.join(".");
}

/** `value` with `path` set to `v`, creating objects on the way (for `with input.a.b as v`). */
export function setPath(value: Value | undefined, path: readonly string[], v: Value): Value {
  if (path.length === 0) return v;
  const [head, ...rest] = path as [string, ...string[]];
  const base = value instanceof RegoObject ? value : EMPTY_OBJECT;
  const out = new RegoObject(base.entries());
  out.set(head, setPath(base.get(head), rest, v));
  return out;
}

/** Select `key` in a base document (integer keys also select string keys). */
export function lookupBase(v: Value | undefined, key: Value): Value | undefined {
  if (v instanceof RegoObject && typeof key === "number" && Number.isInteger(key)) {
    return v.get(key) ?? v.get(String(key));
  }
  return lookup(v, key);
}

/** Select `key` in a value: object key, set element, array index. */
export function lookup(v: Value | undefined, key: Value): Value | undefined {
  if (v === undefined || v === null || typeof v !== "object") return undefined;
  if (v instanceof RegoObject) return v.get(key);
  if (v instanceof RegoSet) return v.has(key) ? key : undefined;
  if (typeof key === "number" && Number.isInteger(key) && key >= 0 && key < v.length) {
    return v[key];
  }
  return undefined;
}

/**
 * The context under an expression's `with` modifiers, given each one's value: `input` paths are
 * replaced, `data` paths overridden (a replacement under an existing one is folded into it, one
 * above existing ones replaces them), functions replaced by a value or another function. A
 * modifier with no resolved target changes nothing.
 */
export function withContext(ctx: Ctx, withs: readonly With[], values: readonly Value[]): Ctx {
  let input = ctx.input;
  let overrides = [...ctx.overrides];
  const mocks = new Map(ctx.mocks);
  withs.forEach((w, j) => {
    const v = values[j] as Value;
    const r = w.resolved;
    if (r === undefined) return;
    switch (r.kind) {
      case "input":
        input = setPath(input, r.path, v);
        break;
      case "data": {
        // A replacement under an existing one is folded into it.
        const outer = overrides.findLast((o) =>
          o.path.length < r.path.length && o.path.every((p, j2) => p === r.path[j2])
        );
        if (outer !== undefined) {
          overrides = overrides.filter((o) => o !== outer);
          overrides.push({
            path: outer.path,
            value: setPath(outer.value, r.path.slice(outer.path.length), v),
          });
        } else {
          overrides = overrides.filter((o) =>
            !(o.path.length >= r.path.length && r.path.every((p, j2) => p === o.path[j2]))
          );
          overrides.push({ path: r.path, value: v });
        }
        break;
      }
      case "function":
        mocks.set(
          mockKey(r.target),
          w.replacement === undefined ? { value: v } : { target: w.replacement },
        );
        break;
    }
  });
  return new Ctx(input, overrides, mocks);
}
