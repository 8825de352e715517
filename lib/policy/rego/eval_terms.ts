/**
 * Top-down evaluation of bodies, expressions and terms (OPA's `topdown`): bodies are searched
 * depth first with backtracking, written in continuation-passing style. Every `eval*` method
 * takes a continuation and returns `true` when the search must stop (a `not`, an `every` check
 * or a constant-valued rule found what it needed), `false` to keep enumerating. Expressions
 * here: terms, `=`/`:=`, `not`, `some ... in`, `every`, `with` (the context it builds is
 * `withContext`'s); terms: literals, collections, comprehensions, references. The `data`
 * document is `eval_rules.ts`'s, calls are `eval.ts`'s.
 *
 * Undefined is the absence of a solution, never a value: a reference to a missing key simply
 * does not call its continuation.
 *
 * @module
 */

import type { Body, CallTerm, ComprTerm, Expr, RefTerm, Term, With } from "./ast.ts";
import type { DataNode } from "./compile.ts";
import { type Ctx, lookup, lookupBase, withContext } from "./eval_context.ts";
import { type Frame, type K, Unifier, type VK } from "./eval_unify.ts";
import { RegoError } from "./errors.ts";
import { equalValues, RegoObject, RegoSet, type Value } from "./value.ts";

/** Expressions and terms; the `data` document and calls are the subclasses'. */
export abstract class TermEvaluator extends Unifier {
  /**
   * Select `path[i:]` in the `data` document at `node` (rules) over `base` (base data), `at`
   * being the path walked so far.
   */
  protected abstract evalData(
    path: readonly Term[],
    i: number,
    node: DataNode | undefined,
    base: Value | undefined,
    at: readonly string[],
    f: Frame,
    ctx: Ctx,
    vk: VK,
  ): boolean;

  /** Evaluate a call term; `vk` runs once per result. */
  protected abstract evalCall(t: CallTerm, f: Frame, ctx: Ctx, vk: VK): boolean;

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
    this.step();
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
    // The rest of the body continues in the outer context: `vk` closes over it.
    return this.#evalExprIn(e, f, withContext(ctx, e.withs, vals), vk);
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
        return this.evalCall(
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
    if (coll instanceof RegoSet && key === undefined && !this.isPattern(value, f)) {
      // Membership of a ground value: no enumeration needed.
      const want = this.groundValue(value, f);
      if (want !== undefined) return coll.has(want) ? k() : false;
    }
    return this.entries(coll, (ek, ev) => {
      if (key === undefined) return this.unifyValue(value, ev, f, ctx, k);
      return this.unifyValue(key, ek, f, ctx, () => this.unifyValue(value, ev, f, ctx, k));
    });
  }

  #every(key: Term | undefined, value: Term, dom: Value, body: Body, f: Frame, ctx: Ctx): boolean {
    if (!(Array.isArray(dom) || dom instanceof RegoSet || dom instanceof RegoObject)) return false;
    let all = true;
    this.entries(dom, (ek, ev) => {
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

  // ---- terms ----

  /** Evaluate a term; `vk` runs once per value (references and calls may enumerate). */
  override evalTerm(t: Term, f: Frame, ctx: Ctx, vk: VK): boolean {
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
        return this.evalCall(t, f, ctx, vk);
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
        return this.evalData(t.path, 0, this.env.root, this.env.data, [], f, ctx, vk);
      }
      const input = ctx.input;
      return input === undefined ? false : this.walk(input, t.path, 0, f, ctx, vk);
    }
    return this.evalTerm(head, f, ctx, (v) => this.walk(v, t.path, 0, f, ctx, vk));
  }

  /**
   * Apply reference selections `path[i:]` to a value. In base documents under `data`
   * (`base`), integer keys select string keys (`data.a[2]` reads `"2"`), as OPA's storage does.
   */
  protected walk(
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
    const g = this.groundValue(p, f);
    if (g !== undefined) {
      const child = get(v, g);
      return child === undefined ? false : this.walk(child, path, i + 1, f, ctx, vk, base);
    }
    if (this.isPattern(p, f)) {
      return this.entries(
        v,
        (key, child) =>
          this.unifyValue(p, key, f, ctx, () => this.walk(child, path, i + 1, f, ctx, vk, base)),
      );
    }
    return this.evalTerm(p, f, ctx, (key) => {
      const child = get(v, key);
      return child === undefined ? false : this.walk(child, path, i + 1, f, ctx, vk, base);
    });
  }
}
