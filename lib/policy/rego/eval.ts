/**
 * Top-down evaluation of compiled Rego (OPA's `topdown`): bodies are searched depth first with
 * backtracking, written in continuation-passing style. Every `eval*` method takes a
 * continuation and returns `true` when the search must stop (a `not`, an `every` check or a
 * constant-valued rule found what it needed), `false` to keep enumerating. Variables live in a
 * frame (one array slot each, numbered by the compiler); a binding is undone when its
 * continuation returns, so backtracking needs no trail.
 *
 * Undefined is the absence of a solution, never a value: a reference to a missing key simply
 * does not call its continuation. Conflicts (two values for a complete rule or a function call,
 * two values for one object key) are errors, as in OPA.
 *
 * Budgets: every expression and every enumerated element costs a step; built-ins charge for the
 * work their outputs need before allocating; the wall clock is checked every 1,024 steps and by
 * the regex engine; nested rule and function evaluation is bounded in depth.
 *
 * @module
 */

import type {
  Body,
  CallTarget,
  CallTerm,
  ComprTerm,
  Expr,
  Loc,
  RefTerm,
  Term,
  With,
} from "./ast.ts";
import type { Builtin, BuiltinContext, BuiltinTable } from "./builtins/registry.ts";
import type { DataNode, RuleDef } from "./compile.ts";
import { Ctx, lookup, lookupBase, mockKey, setPath, UNDEF } from "./eval_context.ts";
import { BuiltinError, limitError, RegoError } from "./errors.ts";
import { equalValues, formatValue, RegoObject, RegoSet, type Value } from "./value.ts";

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

type Frame = (Value | undefined)[];
/** A continuation: returns true to stop the search. */
type K = () => boolean;
/** A continuation receiving a value. */
type VK = (v: Value) => boolean;

/** The evaluator of one query against a compiled policy. */
export class Evaluator {
  readonly #env: EvalEnv;
  #steps = 0;
  readonly #deadline: number;
  #depth = 0;
  readonly #inProgress = new Set<DataNode>();
  readonly #bctx: BuiltinContext;

  constructor(env: EvalEnv) {
    this.#env = env;
    this.#deadline = Date.now() + env.limits.timeoutMs;
    this.#bctx = {
      nowNs: () => env.nowNs,
      charge: (n) => this.#charge(n),
      checkDeadline: () => this.#checkDeadline(),
      random: env.random,
      memo: new Map(),
    };
  }

  /** The root context of the evaluation. */
  rootCtx(): Ctx {
    return new Ctx(this.#env.input, [], new Map());
  }

  // ---- budgets ----

  #step(): void {
    if (++this.#steps > this.#env.limits.maxSteps) {
      throw limitError(`evaluation exceeded the step limit (${this.#env.limits.maxSteps} steps)`);
    }
    if ((this.#steps & 1023) === 0) this.#checkDeadline();
  }

  #charge(n: number): void {
    if (!(n >= 0)) return;
    this.#steps += n;
    if (this.#steps > this.#env.limits.maxSteps) {
      throw limitError(`evaluation exceeded the step limit (${this.#env.limits.maxSteps} steps)`);
    }
    this.#checkDeadline();
  }

  #checkDeadline(): void {
    if (Date.now() > this.#deadline) {
      throw limitError(`evaluation exceeded the time limit (${this.#env.limits.timeoutMs} ms)`);
    }
  }

  #enter(loc: Loc): void {
    if (++this.#depth > this.#env.limits.maxDepth) {
      this.#depth = 0;
      throw limitError(
        `evaluation exceeded the call depth limit (${this.#env.limits.maxDepth})`,
        loc,
      );
    }
  }

  // ---- bodies and expressions ----

  /** Evaluate `body` from expression `i`; `k` runs once per solution. */
  evalBody(body: Body, i: number, f: Frame, ctx: Ctx, k: K): boolean {
    if (i >= body.length) return k();
    const e = body[i] as Expr;
    return this.evalExpr(
      e,
      f,
      ctx,
      (v) => v === false ? false : this.evalBody(body, i + 1, f, ctx, k),
    );
  }

  /** Evaluate one expression; `vk` receives its value (false for a false term or call). */
  evalExpr(e: Expr, f: Frame, ctx: Ctx, vk: VK): boolean {
    this.#step();
    if (e.withs.length > 0) return this.#evalWith(e, 0, [], f, ctx, vk);
    return this.#evalExprIn(e, f, ctx, vk);
  }

  #evalWith(e: Expr, i: number, vals: Value[], f: Frame, ctx: Ctx, vk: VK): boolean {
    if (i < e.withs.length) {
      const w = e.withs[i] as With;
      if (w.replacement !== undefined) return this.#evalWith(e, i + 1, [...vals, null], f, ctx, vk);
      return this.evalTerm(
        w.value,
        f,
        ctx,
        (v) => this.#evalWith(e, i + 1, [...vals, v], f, ctx, vk),
      );
    }
    let input = ctx.input;
    let overrides = [...ctx.overrides];
    const mocks = new Map(ctx.mocks);
    e.withs.forEach((w, j) => {
      const v = vals[j] as Value;
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
    const inner = new Ctx(input, overrides, mocks);
    // The rest of the body continues in the outer context: `vk` closes over it.
    return this.#evalExprIn(e, f, inner, vk);
  }

  #evalExprIn(e: Expr, f: Frame, ctx: Ctx, vk: VK): boolean {
    if (e.negated) {
      let found = false;
      this.#evalPositive(e, f, ctx, (v) => {
        if (v === false) return false;
        found = true;
        return true;
      });
      return found ? false : vk(true);
    }
    return this.#evalPositive(e, f, ctx, vk);
  }

  #evalPositive(e: Expr, f: Frame, ctx: Ctx, vk: VK): boolean {
    switch (e.k) {
      case "term":
        return this.evalTerm(e.term, f, ctx, vk);
      case "callout":
        return this.#evalCall(
          e.call,
          f,
          ctx,
          (v) => this.unifyValue(e.output, v, f, ctx, () => vk(true)),
        );
      case "unify":
      case "assign":
        return this.unify(e.lhs, e.rhs, f, ctx, () => vk(true));
      case "some":
        return vk(true);
      case "somein":
        return this.evalTerm(
          e.coll,
          f,
          ctx,
          (coll) => this.#someIn(e.key, e.value, coll, f, ctx, () => vk(true)),
        );
      case "every":
        return this.evalTerm(
          e.domain,
          f,
          ctx,
          (dom) => this.#every(e.key, e.value, dom, e.body, f, ctx) ? vk(true) : false,
        );
    }
  }

  #someIn(key: Term | undefined, value: Term, coll: Value, f: Frame, ctx: Ctx, k: K): boolean {
    if (coll instanceof RegoSet && key === undefined && !this.#isPattern(value, f)) {
      // Membership of a ground value: no enumeration needed.
      const want = this.#groundValue(value, f);
      if (want !== undefined) return coll.has(want) ? k() : false;
    }
    return this.#entries(coll, (ek, ev) => {
      if (key === undefined) return this.unifyValue(value, ev, f, ctx, k);
      return this.unifyValue(key, ek, f, ctx, () => this.unifyValue(value, ev, f, ctx, k));
    });
  }

  #every(key: Term | undefined, value: Term, dom: Value, body: Body, f: Frame, ctx: Ctx): boolean {
    if (!(Array.isArray(dom) || dom instanceof RegoSet || dom instanceof RegoObject)) return false;
    let all = true;
    this.#entries(dom, (ek, ev) => {
      let found = false;
      const check = () =>
        this.evalBody(body, 0, f, ctx, () => {
          found = true;
          return true;
        });
      if (key === undefined) this.unifyValue(value, ev, f, ctx, check);
      else this.unifyValue(key, ek, f, ctx, () => this.unifyValue(value, ev, f, ctx, check));
      if (!found) {
        all = false;
        return true;
      }
      return false;
    });
    return all;
  }

  /** Enumerate the entries of a collection: (index, element), (key, value), (element, element). */
  #entries(coll: Value, cb: (k: Value, v: Value) => boolean): boolean {
    if (Array.isArray(coll)) {
      for (let i = 0; i < coll.length; i++) {
        this.#step();
        if (cb(i, coll[i] as Value)) return true;
      }
    } else if (coll instanceof RegoObject) {
      for (const [k, v] of coll.sorted()) {
        this.#step();
        if (cb(k, v)) return true;
      }
    } else if (coll instanceof RegoSet) {
      for (const v of coll.sorted()) {
        this.#step();
        if (cb(v, v)) return true;
      }
    }
    return false;
  }

  // ---- unification ----

  /** Whether `t` has unbound variables in pattern positions (var, array/object literal). */
  #isPattern(t: Term, f: Frame): boolean {
    switch (t.t) {
      case "var":
        return t.slot >= 0 && f[t.slot] === undefined;
      case "array":
        return t.cv === undefined && t.items.some((i) => this.#isPattern(i, f));
      case "object":
        return t.cv === undefined && t.entries.some(([, v]) => this.#isPattern(v, f));
      default:
        return false;
    }
  }

  /** The value of a term that needs no enumeration (constants and bound variables). */
  #groundValue(t: Term, f: Frame): Value | undefined {
    if (t.cv !== undefined) return t.cv;
    if (t.t === "var" && t.slot >= 0) return f[t.slot];
    return undefined;
  }

  /** `a = b`. */
  unify(a: Term, b: Term, f: Frame, ctx: Ctx, k: K): boolean {
    if (this.#isPattern(a, f)) {
      if (!this.#isPattern(b, f)) {
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
    let pick = pairs.findIndex(([x, y]) => !(this.#isPattern(x, f) && this.#isPattern(y, f)));
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

  // ---- terms ----

  /** Evaluate a term; `vk` runs once per value (references and calls may enumerate). */
  evalTerm(t: Term, f: Frame, ctx: Ctx, vk: VK): boolean {
    if (t.cv !== undefined) return vk(t.cv);
    switch (t.t) {
      case "null":
        return vk(null);
      case "bool":
      case "num":
      case "str":
        return vk(t.value);
      case "var": {
        const v = f[t.slot];
        if (v === undefined) {
          throw new RegoError("rego_unsafe_var_error", `var ${t.name} is unsafe`, {
            location: t.loc,
          });
        }
        return vk(v);
      }
      case "ref":
        return this.#evalRef(t, f, ctx, vk);
      case "call":
        return this.#evalCall(t, f, ctx, vk);
      case "array": {
        const items = t.items;
        const acc: Value[] = new Array(items.length);
        const go = (i: number): boolean =>
          i >= items.length ? vk(acc.slice()) : this.evalTerm(items[i] as Term, f, ctx, (v) => {
            acc[i] = v;
            return go(i + 1);
          });
        return go(0);
      }
      case "set": {
        const items = t.items;
        const acc: Value[] = new Array(items.length);
        const go = (i: number): boolean =>
          i >= items.length
            ? vk(new RegoSet(acc))
            : this.evalTerm(items[i] as Term, f, ctx, (v) => {
              acc[i] = v;
              return go(i + 1);
            });
        return go(0);
      }
      case "object": {
        const entries = t.entries;
        const acc: [Value, Value][] = new Array(entries.length);
        const go = (i: number): boolean => {
          if (i >= entries.length) {
            const o = new RegoObject();
            for (const [k, v] of acc) {
              const prev = o.get(k);
              if (prev !== undefined && !equalValues(prev, v)) {
                throw new RegoError("eval_conflict_error", "object keys must be unique", {
                  location: t.loc,
                });
              }
              o.set(k, v);
            }
            return vk(o);
          }
          const [kt, vt] = entries[i] as [Term, Term];
          return this.evalTerm(kt, f, ctx, (kv) =>
            this.evalTerm(vt, f, ctx, (vv) => {
              acc[i] = [kv, vv];
              return go(i + 1);
            }));
        };
        return go(0);
      }
      case "compr":
        return vk(this.#evalCompr(t, f, ctx));
    }
  }

  #evalCompr(t: ComprTerm, f: Frame, ctx: Ctx): Value {
    switch (t.kind) {
      case "array": {
        const out: Value[] = [];
        this.evalBody(t.body, 0, f, ctx, () =>
          this.evalTerm(t.head, f, ctx, (v) => {
            out.push(v);
            return false;
          }));
        return out;
      }
      case "set": {
        const out = new RegoSet();
        this.evalBody(t.body, 0, f, ctx, () =>
          this.evalTerm(t.head, f, ctx, (v) => {
            out.add(v);
            return false;
          }));
        return out;
      }
      case "object": {
        const out = new RegoObject();
        const vt = t.value as Term;
        this.evalBody(
          t.body,
          0,
          f,
          ctx,
          () =>
            this.evalTerm(t.head, f, ctx, (k) =>
              this.evalTerm(vt, f, ctx, (v) => {
                const prev = out.get(k);
                if (prev !== undefined && !equalValues(prev, v)) {
                  throw new RegoError("eval_conflict_error", "object keys must be unique", {
                    location: t.loc,
                  });
                }
                out.set(k, v);
                return false;
              })),
        );
        return out;
      }
    }
  }

  #evalRef(t: RefTerm, f: Frame, ctx: Ctx, vk: VK): boolean {
    const head = t.head;
    if (head.t === "var" && head.slot < 0) {
      if (head.name === "data") {
        return this.#evalData(t.path, 0, this.#env.root, this.#env.data, [], f, ctx, vk);
      }
      const input = ctx.input;
      return input === undefined ? false : this.#walk(input, t.path, 0, f, ctx, vk);
    }
    return this.evalTerm(head, f, ctx, (v) => this.#walk(v, t.path, 0, f, ctx, vk));
  }

  /**
   * Apply reference selections `path[i:]` to a value. In base documents under `data`
   * (`base`), integer keys select string keys (`data.a[2]` reads `"2"`), as OPA's storage does.
   */
  #walk(
    v: Value,
    path: readonly Term[],
    i: number,
    f: Frame,
    ctx: Ctx,
    vk: VK,
    base = false,
  ): boolean {
    if (i >= path.length) return vk(v);
    const p = path[i] as Term;
    const get = base ? lookupBase : lookup;
    const g = this.#groundValue(p, f);
    if (g !== undefined) {
      const child = get(v, g);
      return child === undefined ? false : this.#walk(child, path, i + 1, f, ctx, vk, base);
    }
    if (this.#isPattern(p, f)) {
      return this.#entries(
        v,
        (key, child) =>
          this.unifyValue(p, key, f, ctx, () => this.#walk(child, path, i + 1, f, ctx, vk, base)),
      );
    }
    return this.evalTerm(p, f, ctx, (key) => {
      const child = get(v, key);
      return child === undefined ? false : this.#walk(child, path, i + 1, f, ctx, vk, base);
    });
  }

  // ---- the data document ----

  #evalData(
    path: readonly Term[],
    i: number,
    node: DataNode | undefined,
    base: Value | undefined,
    at: readonly string[],
    f: Frame,
    ctx: Ctx,
    vk: VK,
  ): boolean {
    if (ctx.overrides.length > 0) {
      const o = ctx.overrideAt(at);
      if (o !== undefined) return this.#walk(o.value, path, i, f, ctx, vk, true);
      if (ctx.overridesBelow(at).length === 0 && (node === undefined || !node.hasRules)) {
        return base === undefined ? false : this.#walk(base, path, i, f, ctx, vk, true);
      }
    } else if (node === undefined || !node.hasRules) {
      return base === undefined ? false : this.#walk(base, path, i, f, ctx, vk, true);
    }
    if (node !== undefined && node.hasOwnRules) {
      if (node.isFunction) return false;
      const v = this.#nodeValue(node, base, at, ctx);
      return v === undefined ? false : this.#walk(v, path, i, f, ctx, vk);
    }
    if (i >= path.length) {
      const v = this.#fullValue(node, base, at, ctx);
      return v === undefined ? false : vk(v);
    }
    const p = path[i] as Term;
    const step = (key0: Value): boolean => {
      // The data document is keyed by strings: data[2] reads the key "2", as OPA's storage does.
      const key = typeof key0 === "number" && Number.isInteger(key0) ? String(key0) : key0;
      if (typeof key !== "string") {
        const child = lookup(base, key);
        return child === undefined ? false : this.#walk(child, path, i + 1, f, ctx, vk, true);
      }
      const childNode = node?.children.get(key);
      const childBase = base instanceof RegoObject ? base.get(key) : undefined;
      return this.#evalData(path, i + 1, childNode, childBase, [...at, key], f, ctx, vk);
    };
    const g = this.#groundValue(p, f);
    if (g !== undefined) return step(g);
    if (this.#isPattern(p, f)) {
      const keys = new Set<string>();
      for (const [k, c] of node?.children ?? []) if (c.hasRules && !c.isFunction) keys.add(k);
      if (base instanceof RegoObject) {
        for (const k of base.keys()) if (typeof k === "string") keys.add(k);
      }
      for (const o of ctx.overridesBelow(at)) keys.add(o.path[at.length] as string);
      for (const key of [...keys].sort()) {
        this.#step();
        if (this.unifyValue(p, key, f, ctx, () => step(key))) return true;
      }
      return false;
    }
    return this.evalTerm(p, f, ctx, step);
  }

  /** The whole document at a node: base data merged with the rules below it. */
  #fullValue(
    node: DataNode | undefined,
    base: Value | undefined,
    at: readonly string[],
    ctx: Ctx,
  ): Value | undefined {
    const o = ctx.overrideAt(at);
    if (o !== undefined) return o.value;
    const below = ctx.overrides.length > 0 ? ctx.overridesBelow(at) : [];
    if ((node === undefined || !node.hasRules) && below.length === 0) return base;
    if (node !== undefined && node.hasOwnRules) {
      return node.isFunction ? undefined : this.#nodeValue(node, base, at, ctx);
    }
    const out = new RegoObject(base instanceof RegoObject ? base.entries() : []);
    const keys = new Set<string>();
    for (const [k, c] of node?.children ?? []) if (c.hasRules) keys.add(k);
    for (const b of below) keys.add(b.path[at.length] as string);
    for (const key of keys) {
      const child = node?.children.get(key);
      if (child !== undefined && child.isFunction) continue;
      const childBase = base instanceof RegoObject ? base.get(key) : undefined;
      const v = this.#fullValue(child, childBase, [...at, key], ctx);
      if (v !== undefined) out.set(key, v);
    }
    return out;
  }

  /** The value of the rules at a node (cached per context). */
  #nodeValue(
    node: DataNode,
    base: Value | undefined,
    at: readonly string[],
    ctx: Ctx,
  ): Value | undefined {
    const cached = ctx.cache.get(node);
    if (cached !== undefined) return cached === UNDEF ? undefined : cached;
    if (this.#inProgress.has(node)) {
      throw new RegoError("rego_recursion_error", `rule ${node.name} is recursive`, {
        location: (node.complete[0] ?? node.sets[0] ?? node.objects[0])?.loc,
      });
    }
    this.#inProgress.add(node);
    const loc = (node.complete[0] ?? node.sets[0] ?? node.objects[0] ?? node.defaultRule)?.loc;
    if (loc !== undefined) this.#enter(loc);
    let v: Value | undefined;
    try {
      if (node.sets.length > 0) v = this.#evalSetRules(node, ctx);
      else if (node.objects.length > 0) v = this.#evalObjectRules(node, base, at, ctx);
      else v = this.#evalCompleteRules(node, ctx);
    } finally {
      this.#inProgress.delete(node);
      if (loc !== undefined) this.#depth--;
    }
    ctx.cache.set(node, v === undefined ? UNDEF : v);
    return v;
  }

  /**
   * Run a rule's body (then its else clauses, in order, while none succeeds). `onValue` gets
   * each value and whether the clause's value is a constant (so further solutions of the same
   * clause cannot produce another value).
   */
  #evalChain(
    rule: RuleDef,
    f: Frame,
    ctx: Ctx,
    onValue: (v: Value, constant: boolean) => boolean,
  ): boolean {
    let found = false;
    const main = rule.constant !== undefined;
    // A clause counts as taken when it produced a value: an undefined head value (`p := x.y if
    // ...`) falls through to `else`, as OPA moves such head terms into the body.
    const stop = this.evalBody(
      rule.body,
      0,
      f,
      ctx,
      () =>
        this.evalTerm(rule.value, f, ctx, (v) => {
          found = true;
          return onValue(v, main);
        }),
    );
    if (stop || found) return stop;
    for (const e of rule.elses) {
      let ef = false;
      const constant = e.constant !== undefined;
      const s = this.evalBody(e.body, 0, f, ctx, () =>
        this.evalTerm(e.value, f, ctx, (v) => {
          ef = true;
          return onValue(v, constant);
        }));
      if (s || ef) return s;
    }
    return false;
  }

  #evalCompleteRules(node: DataNode, ctx: Ctx): Value | undefined {
    let result: Value | undefined;
    for (const rule of node.complete) {
      const f: Frame = new Array(rule.nslots);
      this.#evalChain(rule, f, ctx, (v, constant) => {
        if (result === undefined) result = v;
        else if (!equalValues(result, v)) {
          throw new RegoError(
            "eval_conflict_error",
            "complete rules must not produce multiple outputs",
            {
              location: rule.loc,
            },
          );
        }
        // A constant value cannot change with further solutions of the same clause.
        return constant;
      });
    }
    if (result === undefined && node.defaultRule !== undefined) {
      const d = node.defaultRule;
      this.evalTerm(d.value, new Array(d.nslots), ctx, (v) => {
        result = v;
        return true;
      });
    }
    return result;
  }

  #evalSetRules(node: DataNode, ctx: Ctx): Value {
    const out = new RegoSet();
    for (const rule of node.sets) {
      const f: Frame = new Array(rule.nslots);
      const key = rule.key as Term;
      // A constant element needs one solution only (OPA's early exit).
      const constant = key.cv !== undefined;
      this.evalBody(rule.body, 0, f, ctx, () =>
        this.evalTerm(key, f, ctx, (v) => {
          out.add(v);
          return constant;
        }));
    }
    return out;
  }

  #evalObjectRules(
    node: DataNode,
    base: Value | undefined,
    at: readonly string[],
    ctx: Ctx,
  ): Value {
    const out = new RegoObject(base instanceof RegoObject ? base.entries() : []);
    const conflict = (loc: Loc) =>
      new RegoError("eval_conflict_error", "object keys must be unique", { location: loc });
    const owned = new WeakSet<RegoSet>();
    for (const rule of node.objects) {
      const f: Frame = new Array(rule.nslots);
      const isSet = rule.kind === "set";
      // Constant keys and value need one solution only (OPA's early exit).
      const constant = rule.suffix.every((t) => t.cv !== undefined) &&
        (isSet ? rule.key?.cv !== undefined : rule.constant !== undefined);
      const onValue = (value: Value): boolean => {
        const keys: Value[] = [];
        const put = (): boolean => {
          let target = out;
          for (let j = 0; j < keys.length - 1; j++) {
            const kj = keys[j] as Value;
            const next = target.get(kj);
            if (next === undefined) {
              const fresh = new RegoObject();
              target.set(kj, fresh);
              target = fresh;
            } else if (next instanceof RegoObject) {
              target = next;
            } else throw conflict(rule.loc);
          }
          const last = keys[keys.length - 1] as Value;
          const prev = target.get(last);
          if (isSet) {
            if (prev !== undefined && !(prev instanceof RegoSet)) throw conflict(rule.loc);
            let s = prev as RegoSet | undefined;
            if (s === undefined || !owned.has(s)) {
              // Never grow a set this evaluation did not create (base data is shared).
              s = new RegoSet(s?.values() ?? []);
              owned.add(s);
              target.set(last, s);
            }
            s.add(value);
            return constant;
          }
          if (prev !== undefined && !equalValues(prev, value)) throw conflict(rule.loc);
          target.set(last, value);
          return constant;
        };
        const go = (j: number): boolean =>
          j >= rule.suffix.length ? put() : this.evalTerm(rule.suffix[j] as Term, f, ctx, (kv) => {
            keys[j] = kv;
            return go(j + 1);
          });
        return go(0);
      };
      if (isSet) {
        const key = rule.key as Term;
        this.evalBody(rule.body, 0, f, ctx, () => this.evalTerm(key, f, ctx, onValue));
      } else this.#evalChain(rule, f, ctx, onValue);
    }
    for (const [key, child] of node.children) {
      if (!child.hasRules || child.isFunction) continue;
      const childBase = base instanceof RegoObject ? base.get(key) : undefined;
      const v = this.#fullValue(child, childBase, [...at, key], ctx);
      if (v === undefined) continue;
      const prev = out.get(key);
      if (prev !== undefined && !equalValues(prev, v)) throw conflict(node.objects[0]?.loc as Loc);
      out.set(key, v);
    }
    return out;
  }

  // ---- calls ----

  #evalArgs(args: readonly Term[], f: Frame, ctx: Ctx, k: (vals: Value[]) => boolean): boolean {
    const vals: Value[] = new Array(args.length);
    const go = (i: number): boolean => {
      if (i >= args.length) return k(vals.slice());
      const a = args[i] as Term;
      if (a.cv !== undefined) {
        vals[i] = a.cv;
        return go(i + 1);
      }
      return this.evalTerm(a, f, ctx, (v) => {
        vals[i] = v;
        return go(i + 1);
      });
    };
    return go(0);
  }

  #evalCall(t: CallTerm, f: Frame, ctx: Ctx, vk: VK): boolean {
    const target = t.target;
    if (target === undefined) {
      throw new RegoError("eval_internal_error", "unresolved call", { location: t.loc });
    }
    if (target.kind === "builtin" && target.name === "print") return this.#print(t, f, ctx, vk);
    return this.#evalArgs(t.args, f, ctx, (vals) => this.callTarget(target, vals, t.loc, ctx, vk));
  }

  /** Call a resolved target with operand values (honouring `with` replacements). */
  callTarget(target: CallTarget, vals: Value[], loc: Loc, ctx: Ctx, vk: VK): boolean {
    if (ctx.mocks.size > 0) {
      const m = ctx.mocks.get(mockKey(target));
      if (m !== undefined) {
        if ("value" in m) return vk(m.value);
        const inner = new Ctx(
          ctx.input,
          ctx.overrides,
          new Map([...ctx.mocks].filter(([k]) => k !== mockKey(target))),
        );
        return this.callTarget(m.target, vals, loc, inner, vk);
      }
    }
    if (target.kind === "function") return this.#callFunction(target.path, vals, loc, ctx, vk);
    const b = this.#env.builtins.get(target.name);
    if (b === undefined) {
      throw new RegoError(
        "rego_type_error",
        `built-in "${target.name}" is not supported by this engine`,
        {
          policyCode: "POLICY_BUILTIN_UNSUPPORTED",
          location: loc,
        },
      );
    }
    return this.#callBuiltin(b, vals, loc, vk);
  }

  #callBuiltin(b: Builtin, vals: Value[], loc: Loc, vk: VK): boolean {
    this.#step();
    let r: Value | undefined;
    try {
      r = b.fn(vals, this.#bctx);
    } catch (e) {
      if (e instanceof BuiltinError) {
        if (!this.#env.strict) return false;
        throw new RegoError(e.kind, `${b.name}: ${e.message}`, { location: loc, cause: e });
      }
      throw e;
    }
    if (r === undefined) return false;
    if (b.relation === true && Array.isArray(r)) {
      for (const x of r) if (vk(x)) return true;
      return false;
    }
    return vk(r);
  }

  #callFunction(path: readonly string[], vals: Value[], loc: Loc, ctx: Ctx, vk: VK): boolean {
    let node: DataNode | undefined = this.#env.root;
    for (const p of path) node = node?.children.get(p);
    if (node === undefined) return false;
    this.#enter(loc);
    let result: Value | undefined;
    try {
      for (const rule of node.functions) {
        const f: Frame = new Array(rule.nslots);
        const params = rule.args ?? [];
        const bind = (i: number): boolean =>
          i >= params.length
            ? this.#evalChain(rule, f, ctx, (v, constant) => {
              if (result === undefined) result = v;
              else if (!equalValues(result, v)) {
                throw new RegoError(
                  "eval_conflict_error",
                  "functions must not produce multiple outputs for same inputs",
                  {
                    location: rule.loc,
                  },
                );
              }
              return constant;
            })
            : this.unifyValue(params[i] as Term, vals[i] as Value, f, ctx, () => bind(i + 1));
        bind(0);
      }
      if (result === undefined && node.defaultRule !== undefined) {
        const d = node.defaultRule;
        this.evalTerm(d.value, new Array(d.nslots), ctx, (v) => {
          result = v;
          return true;
        });
      }
    } finally {
      this.#depth--;
    }
    return result === undefined ? false : vk(result);
  }

  /** `print(...)`: each operand's values, `<undefined>` for none; always true. */
  #print(t: CallTerm, f: Frame, ctx: Ctx, vk: VK): boolean {
    const parts = t.args.map((a) => {
      const vals: Value[] = [];
      try {
        this.evalTerm(a, f, ctx, (v) => {
          vals.push(v);
          return false;
        });
      } catch (e) {
        if (!(e instanceof RegoError) || e.regoCode === "eval_cancel_error") throw e;
        if (this.#env.strict) throw e;
      }
      if (vals.length === 0) return "<undefined>";
      return vals.map((v) => typeof v === "string" ? v : formatValue(v)).join(" ");
    });
    this.#env.print(parts.join(" "), t.loc);
    return vk(true);
  }
}

/** The context type, for callers that create evaluations. */
export type EvalContext = Ctx;
