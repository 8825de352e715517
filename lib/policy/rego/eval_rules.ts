/**
 * The `data` document during evaluation: base data merged with the rules under it (a rule
 * replaced by `with data... as` reads the replacement), and the rules' values: complete rules
 * (with their `else` chains and defaults), multi-value (set) rules and object rules, each cached
 * per context. Conflicts (two values for a complete rule, two values for one object key) are
 * errors, as in OPA.
 *
 * @module
 */

import type { Loc, Term } from "./ast.ts";
import type { DataNode, RuleDef } from "./compile.ts";
import { type Ctx, lookup, UNDEF } from "./eval_context.ts";
import { TermEvaluator } from "./eval_terms.ts";
import type { Frame, VK } from "./eval_unify.ts";
import { RegoError } from "./errors.ts";
import { equalValues, RegoObject, RegoSet, type Value } from "./value.ts";

/** The `data` document and rules; calls are the subclass's. */
export abstract class RuleEvaluator extends TermEvaluator {
  readonly #inProgress = new Set<DataNode>();

  // ---- the data document ----

  protected override evalData(
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
      if (o !== undefined) return this.walk(o.value, path, i, f, ctx, vk, true);
      if (ctx.overridesBelow(at).length === 0 && (node === undefined || !node.hasRules)) {
        return base === undefined ? false : this.walk(base, path, i, f, ctx, vk, true);
      }
    } else if (node === undefined || !node.hasRules) {
      return base === undefined ? false : this.walk(base, path, i, f, ctx, vk, true);
    }
    if (node !== undefined && node.hasOwnRules) {
      if (node.isFunction) return false;
      const v = this.#nodeValue(node, base, at, ctx);
      return v === undefined ? false : this.walk(v, path, i, f, ctx, vk);
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
        return child === undefined ? false : this.walk(child, path, i + 1, f, ctx, vk, true);
      }
      const childNode = node?.children.get(key);
      const childBase = base instanceof RegoObject ? base.get(key) : undefined;
      return this.evalData(path, i + 1, childNode, childBase, [...at, key], f, ctx, vk);
    };
    const g = this.groundValue(p, f);
    if (g !== undefined) return step(g);
    if (this.isPattern(p, f)) {
      const keys = new Set<string>();
      for (const [k, c] of node?.children ?? []) if (c.hasRules && !c.isFunction) keys.add(k);
      if (base instanceof RegoObject) {
        for (const k of base.keys()) if (typeof k === "string") keys.add(k);
      }
      for (const o of ctx.overridesBelow(at)) keys.add(o.path[at.length] as string);
      for (const key of [...keys].sort()) {
        this.step();
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
    if (loc !== undefined) this.enter(loc);
    let v: Value | undefined;
    try {
      if (node.sets.length > 0) v = this.#evalSetRules(node, ctx);
      else if (node.objects.length > 0) v = this.#evalObjectRules(node, base, at, ctx);
      else v = this.#evalCompleteRules(node, ctx);
    } finally {
      this.#inProgress.delete(node);
      if (loc !== undefined) this.leave();
    }
    ctx.cache.set(node, v === undefined ? UNDEF : v);
    return v;
  }

  /**
   * Run a rule's body (then its else clauses, in order, while none succeeds). `onValue` gets
   * each value and whether the clause's value is a constant (so further solutions of the same
   * clause cannot produce another value).
   */
  protected evalChain(
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
      this.evalChain(rule, f, ctx, (v, constant) => {
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
    // Not `??`: a rule whose value is null is defined.
    return result === undefined ? this.defaultValue(node, ctx) : result;
  }

  /** The value of the node's default rule or function, if it has one (a constant). */
  protected defaultValue(node: DataNode, ctx: Ctx): Value | undefined {
    const d = node.defaultRule;
    if (d === undefined) return undefined;
    let result: Value | undefined;
    this.evalTerm(d.value, new Array(d.nslots), ctx, (v) => {
      result = v;
      return true;
    });
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
      } else this.evalChain(rule, f, ctx, onValue);
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
}
