/**
 * The foundation of top-down evaluation (`eval.ts` builds on it): the budgets every step is
 * charged against (steps, wall clock, nesting depth), the enumeration of collections, and
 * unification of terms with terms and with values. Variables live in a frame (one array slot
 * each, numbered by the compiler); a binding is undone when its continuation returns, so
 * backtracking needs no trail.
 *
 * @module
 */

import type { Loc, Term } from "./ast.ts";
import type { BuiltinTable } from "./builtins/registry.ts";
import type { DataNode } from "./compile.ts";
import type { Ctx } from "./eval_context.ts";
import { limitError, RegoError } from "./errors.ts";
import { equalValues, RegoObject, RegoSet, type Value } from "./value.ts";

/** Evaluation budgets. */
export interface EvalLimits {
  /** Maximum evaluation steps (default 1,000,000). */
  readonly maxSteps: number;
  /** Wall-clock budget in milliseconds (default 1,000). */
  readonly timeoutMs: number;
  /** Maximum nesting of rule and function evaluation (default 200). */
  readonly maxDepth: number;
}

/** Default budgets. */
export const DEFAULT_LIMITS: EvalLimits = { maxSteps: 1_000_000, timeoutMs: 1_000, maxDepth: 200 };

/** What one evaluation runs with. */
export interface EvalEnv {
  readonly root: DataNode;
  readonly data: Value;
  readonly input: Value | undefined;
  readonly builtins: BuiltinTable;
  /** Built-in errors abort evaluation (true) or make the expression undefined (false). */
  readonly strict: boolean;
  readonly nowNs: bigint;
  readonly limits: EvalLimits;
  readonly print: (message: string, location: Loc) => void;
  readonly random: () => number;
}

/** A frame: the values of a rule's (or query's) variables, by slot. */
export type Frame = (Value | undefined)[];
/** A continuation: returns true to stop the search. */
export type K = () => boolean;
/** A continuation receiving a value. */
export type VK = (v: Value) => boolean;

/** Budgets, enumeration and unification; terms are evaluated by the subclass. */
export abstract class Unifier {
  protected readonly env: EvalEnv;
  #steps = 0;
  readonly #deadline: number;
  #depth = 0;

  constructor(env: EvalEnv) {
    this.env = env;
    this.#deadline = Date.now() + env.limits.timeoutMs;
  }

  /** Evaluate a term; `vk` runs once per value (references and calls may enumerate). */
  abstract evalTerm(t: Term, f: Frame, ctx: Ctx, vk: VK): boolean;

  // ---- budgets ----

  /** Charge one step; the clock is read every 1,024. */
  protected step(): void {
    if (++this.#steps > this.env.limits.maxSteps) {
      throw limitError(`evaluation exceeded the step limit (${this.env.limits.maxSteps} steps)`);
    }
    if ((this.#steps & 1023) === 0) this.checkDeadline();
  }

  /** Charge `n` steps at once (built-ins, before they allocate). */
  protected charge(n: number): void {
    if (!(n >= 0)) return;
    this.#steps += n;
    if (this.#steps > this.env.limits.maxSteps) {
      throw limitError(`evaluation exceeded the step limit (${this.env.limits.maxSteps} steps)`);
    }
    this.checkDeadline();
  }

  /** Fail once the wall-clock budget is spent. */
  protected checkDeadline(): void {
    if (Date.now() > this.#deadline) {
      throw limitError(`evaluation exceeded the time limit (${this.env.limits.timeoutMs} ms)`);
    }
  }

  /** Enter one level of rule or function evaluation (bounded by `maxDepth`). */
  protected enter(loc: Loc): void {
    if (++this.#depth > this.env.limits.maxDepth) {
      this.#depth = 0;
      throw limitError(
        `evaluation exceeded the call depth limit (${this.env.limits.maxDepth})`,
        loc,
      );
    }
  }

  /** Leave a level entered with {@link enter}. */
  protected leave(): void {
    this.#depth--;
  }

  /** Enumerate the entries of a collection: (index, element), (key, value), (element, element). */
  protected entries(coll: Value, cb: (k: Value, v: Value) => boolean): boolean {
    if (Array.isArray(coll)) {
      for (let i = 0; i < coll.length; i++) {
        this.step();
        if (cb(i, coll[i] as Value)) return true;
      }
    } else if (coll instanceof RegoObject) {
      for (const [k, v] of coll.sorted()) {
        this.step();
        if (cb(k, v)) return true;
      }
    } else if (coll instanceof RegoSet) {
      for (const v of coll.sorted()) {
        this.step();
        if (cb(v, v)) return true;
      }
    }
    return false;
  }

  // ---- unification ----

  /** Whether `t` has unbound variables in pattern positions (var, array/object literal). */
  protected isPattern(t: Term, f: Frame): boolean {
    switch (t.t) {
      case "var":
        return t.slot >= 0 && f[t.slot] === undefined;
      case "array":
        return t.cv === undefined && t.items.some((i) => this.isPattern(i, f));
      case "object":
        return t.cv === undefined && t.entries.some(([, v]) => this.isPattern(v, f));
      default:
        return false;
    }
  }

  /** The value of a term that needs no enumeration (constants and bound variables). */
  protected groundValue(t: Term, f: Frame): Value | undefined {
    if (t.cv !== undefined) return t.cv;
    if (t.t === "var" && t.slot >= 0) return f[t.slot];
    return undefined;
  }

  /** `a = b`. */
  unify(a: Term, b: Term, f: Frame, ctx: Ctx, k: K): boolean {
    if (this.isPattern(a, f)) {
      if (!this.isPattern(b, f)) {
        return this.evalTerm(b, f, ctx, (v) => this.unifyValue(a, v, f, ctx, k));
      }
      if (a.t === "array" && b.t === "array") {
        if (a.items.length !== b.items.length) return false;
        return this.#unifyPairs(a.items.map((x, i) => [x, b.items[i] as Term]), f, ctx, k);
      }
      if (a.t === "object" && b.t === "object") {
        if (a.entries.length !== b.entries.length) return false;
        return this.#unifyObjects(a, b, f, ctx, k);
      }
      throw new RegoError("rego_unsafe_var_error", "cannot unify two unbound terms", {
        location: a.loc,
      });
    }
    return this.evalTerm(a, f, ctx, (v) => this.unifyValue(b, v, f, ctx, k));
  }

  #unifyPairs(pairs: [Term, Term][], f: Frame, ctx: Ctx, k: K): boolean {
    if (pairs.length === 0) return k();
    let pick = pairs.findIndex(([x, y]) => !(this.isPattern(x, f) && this.isPattern(y, f)));
    if (pick < 0) pick = 0;
    const [x, y] = pairs[pick] as [Term, Term];
    const rest = pairs.filter((_, i) => i !== pick);
    return this.unify(x, y, f, ctx, () => this.#unifyPairs(rest, f, ctx, k));
  }

  #unifyObjects(
    a: Term & { t: "object" },
    b: Term & { t: "object" },
    f: Frame,
    ctx: Ctx,
    k: K,
  ): boolean {
    // Keys are ground: pair the entries by key value.
    const keysOf = (
      t: Term & { t: "object" },
      i: number,
      acc: Value[],
      next: (keys: Value[]) => boolean,
    ): boolean =>
      i >= t.entries.length
        ? next(acc)
        : this.evalTerm((t.entries[i] as [Term, Term])[0], f, ctx, (kv) =>
          keysOf(t, i + 1, [...acc, kv], next));
    return keysOf(a, 0, [], (ka) =>
      keysOf(b, 0, [], (kb) => {
        const pairs: [Term, Term][] = [];
        for (let i = 0; i < ka.length; i++) {
          const j = kb.findIndex((x) => equalValues(x, ka[i] as Value));
          if (j < 0) return false;
          pairs.push([(a.entries[i] as [Term, Term])[1], (b.entries[j] as [Term, Term])[1]]);
        }
        return this.#unifyPairs(pairs, f, ctx, k);
      }));
  }

  /** Unify a term with a value, binding the term's unbound variables. */
  unifyValue(t: Term, v: Value, f: Frame, ctx: Ctx, k: K): boolean {
    switch (t.t) {
      case "var": {
        if (t.slot < 0) return this.evalTerm(t, f, ctx, (x) => equalValues(x, v) ? k() : false);
        const cur = f[t.slot];
        if (cur === undefined) {
          f[t.slot] = v;
          try {
            return k();
          } finally {
            f[t.slot] = undefined;
          }
        }
        return equalValues(cur, v) ? k() : false;
      }
      case "array": {
        if (t.cv !== undefined) return equalValues(t.cv, v) ? k() : false;
        if (!Array.isArray(v) || v.length !== t.items.length) return false;
        const go = (i: number): boolean =>
          i >= t.items.length
            ? k()
            : this.unifyValue(t.items[i] as Term, v[i] as Value, f, ctx, () => go(i + 1));
        return go(0);
      }
      case "object": {
        if (t.cv !== undefined) return equalValues(t.cv, v) ? k() : false;
        if (!(v instanceof RegoObject) || v.size !== t.entries.length) return false;
        const go = (i: number): boolean => {
          if (i >= t.entries.length) return k();
          const [kt, vt] = t.entries[i] as [Term, Term];
          return this.evalTerm(kt, f, ctx, (key) => {
            const child = v.get(key);
            return child === undefined
              ? false
              : this.unifyValue(vt, child, f, ctx, () => go(i + 1));
          });
        };
        return go(0);
      }
      default:
        if (t.cv !== undefined) return equalValues(t.cv, v) ? k() : false;
        return this.evalTerm(t, f, ctx, (x) => equalValues(x, v) ? k() : false);
    }
  }
}
