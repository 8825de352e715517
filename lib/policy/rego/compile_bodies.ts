/**
 * Terms, bodies and expressions: names resolved (`compile_names.ts`), calls checked
 * (`compile_calls.ts`), each body reordered for safety ({@link reorderBody} in `safety.ts`:
 * every variable bound before it is read, `rego_unsafe_var_error`), comprehensions and `every`
 * with their free variables, literal unifications that can never match refused (OPA's type
 * checker: `rego_type_error: match error`), and queries.
 *
 * @module
 */

import type { Body, ComprTerm, EveryExpr, Expr, Loc, Term, VarTerm, With } from "./ast.ts";
import { CallCompiler } from "./compile_calls.ts";
import { compileError, type ModuleEnv, Scope } from "./compile_names.ts";
import type { CompiledQuery } from "./compile_names.ts";
import { collectSlots, constValue, reorderBody } from "./safety.ts";
import { stringifyJson, toJson, type Value } from "./value.ts";

/** Terms, bodies, expressions and queries; rules are the subclass's. */
export abstract class BodyCompiler extends CallCompiler {
  protected override term(t: Term, scope: Scope, env: ModuleEnv): Term {
    switch (t.t) {
      case "null":
      case "bool":
      case "num":
      case "str":
        return t;
      case "var":
        return this.resolveName(t, scope, env);
      case "ref": {
        const head = t.head.t === "var"
          ? this.resolveName(t.head, scope, env)
          : this.term(t.head, scope, env);
        const path = t.path.map((p) => this.term(p, scope, env));
        if (head.t === "ref") {
          return { t: "ref", head: head.head, path: [...head.path, ...path], loc: t.loc };
        }
        return { t: "ref", head, path, loc: t.loc };
      }
      case "array":
        return { t: "array", items: t.items.map((i) => this.term(i, scope, env)), loc: t.loc };
      case "set":
        return { t: "set", items: t.items.map((i) => this.term(i, scope, env)), loc: t.loc };
      case "object":
        return {
          t: "object",
          entries: t.entries.map((
            [k, v],
          ) => [this.term(k, scope, env), this.term(v, scope, env)]),
          loc: t.loc,
        };
      case "call":
        return this.call(t, scope, env, false);
      case "compr":
        return this.#compr(t, scope, env);
    }
  }

  #compr(t: ComprTerm, parent: Scope, env: ModuleEnv): ComprTerm {
    const scope = new Scope(parent);
    this.noteDeclarations(t.body, scope);
    this.occurrences(t.head, scope);
    if (t.value !== undefined) this.occurrences(t.value, scope);
    const body = this.body(t.body, scope, env);
    const head = this.term(t.head, scope, env);
    const value = t.value === undefined ? undefined : this.term(t.value, scope, env);
    const safe = (slot: number) => !scope.own.has(slot);
    const ordered = reorderBody(body, safe, value === undefined ? [head] : [head, value]);
    const used = new Set<number>();
    collectSlots(head, used);
    if (value !== undefined) collectSlots(value, used);
    for (const e of ordered) collectSlots(e, used);
    const free = [...used].filter((s) => !scope.own.has(s));
    const out: ComprTerm = value === undefined
      ? { t: "compr", kind: t.kind, head, body: ordered, loc: t.loc, free }
      : { t: "compr", kind: t.kind, head, value, body: ordered, loc: t.loc, free };
    return out;
  }

  /** A body with its names resolved in `scope` (not yet reordered). */
  protected body(body: Body, scope: Scope, env: ModuleEnv): Body {
    this.noteDeclarations(body, scope);
    for (const e of body) this.exprOccurrences(e, scope);
    return body.map((e) => this.#expr(e, scope, env));
  }

  #expr(e: Expr, scope: Scope, env: ModuleEnv): Expr {
    const withs = e.withs.map((w) => this.with(w, scope, env));
    const base = { negated: e.negated, withs, loc: e.loc, text: e.text };
    switch (e.k) {
      case "term": {
        if (e.term.t === "call" && e.term.op === undefined) {
          const call = this.call(e.term, scope, env, true);
          const arity = this.arityOf(call);
          if (arity >= 0 && call.args.length === arity + 1) {
            const output = call.args[arity] as Term;
            return {
              k: "callout",
              call: { ...call, args: call.args.slice(0, arity) },
              output,
              ...base,
            };
          }
          return { k: "term", term: call, ...base };
        }
        return { k: "term", term: this.term(e.term, scope, env), ...base };
      }
      case "callout":
        return e;
      case "unify": {
        const lhs = this.term(e.lhs, scope, env);
        const rhs = this.term(e.rhs, scope, env);
        checkLiteralMatch(lhs, rhs);
        return { k: "unify", lhs, rhs, ...base };
      }
      case "assign": {
        const rhs = this.term(e.rhs, scope, env);
        this.assignTarget(e.lhs);
        this.declarePattern(e.lhs, scope, true);
        const lhs = this.term(e.lhs, scope, env);
        checkLiteralMatch(lhs, rhs);
        return { k: "assign", lhs, rhs, ...base };
      }
      case "some":
        for (const v of e.vars) this.declarePattern(v, scope, true);
        return {
          k: "some",
          vars: e.vars.map((v) => this.resolveName(v, scope, env) as VarTerm),
          ...base,
        };
      case "somein": {
        const coll = this.term(e.coll, scope, env);
        if (e.key !== undefined) this.declarePattern(e.key, scope, true);
        this.declarePattern(e.value, scope, true);
        return {
          k: "somein",
          key: e.key === undefined ? undefined : this.term(e.key, scope, env),
          value: this.term(e.value, scope, env),
          coll,
          ...base,
        };
      }
      case "every":
        return this.#every(e, scope, env, base);
    }
  }

  #every(
    e: EveryExpr,
    parent: Scope,
    env: ModuleEnv,
    base: { negated: boolean; withs: With[]; loc: Loc; text: string },
  ): Expr {
    const domain = this.term(e.domain, parent, env);
    const scope = new Scope(parent);
    if (e.key !== undefined) this.declarePattern(e.key, scope);
    this.declarePattern(e.value, scope);
    const key = e.key === undefined ? undefined : this.term(e.key, scope, env);
    const value = this.term(e.value, scope, env);
    const body = this.body(e.body, scope, env);
    const bound = new Set<number>();
    if (key !== undefined) collectSlots(key, bound);
    collectSlots(value, bound);
    const ordered = reorderBody(body, (s) => bound.has(s) || !scope.own.has(s), []);
    const used = new Set<number>();
    for (const x of ordered) collectSlots(x, used);
    const free = [...used].filter((s) => !scope.own.has(s));
    return { k: "every", key, value, domain, body: ordered, free, ...base };
  }

  // ---- queries ----

  compileQuery(body: Body, env: ModuleEnv): CompiledQuery {
    this.env = env;
    this.slots = 0;
    const scope = new Scope(undefined);
    const resolved = this.body(body, scope, env);
    const ordered = reorderBody(resolved, () => false, []);
    const vars: { name: string; slot: number }[] = [];
    const seen = new Set<number>();
    const collect = (t: Term) => {
      if (
        t.t === "var" && t.slot >= 0 && t.name !== "_" && !t.name.startsWith("__local") &&
        !seen.has(t.slot) &&
        scope.own.has(t.slot)
      ) {
        seen.add(t.slot);
        vars.push({ name: t.name, slot: t.slot });
      }
    };
    for (const e of resolved) walkVars(e, collect);
    return { body: ordered, written: resolved, nslots: this.slots, vars };
  }
}

/** Visit the variable terms of an expression at its own level (not nested bodies). */
function walkVars(e: Expr, f: (t: Term) => void): void {
  const term = (t: Term): void => {
    switch (t.t) {
      case "var":
        return f(t);
      case "ref":
        term(t.head);
        t.path.forEach(term);
        return;
      case "call":
        t.args.forEach(term);
        return;
      case "array":
      case "set":
        t.items.forEach(term);
        return;
      case "object":
        for (const [k, v] of t.entries) {
          term(k);
          term(v);
        }
        return;
      default:
        return;
    }
  };
  switch (e.k) {
    case "term":
      return term(e.term);
    case "callout":
      term(e.call);
      return term(e.output);
    case "unify":
    case "assign":
      term(e.lhs);
      return term(e.rhs);
    case "some":
      e.vars.forEach(term);
      return;
    case "somein":
      if (e.key !== undefined) term(e.key);
      term(e.value);
      return term(e.coll);
    case "every":
      return term(e.domain);
  }
}

/**
 * Unifying two literals of different shapes can never succeed: OPA's type checker rejects it
 * (`rego_type_error: match error`), e.g. `[x, y] = [1, 2, 3]` or `[x] = {"a": 1}`.
 */
function checkLiteralMatch(a: Term, b: Term): void {
  const fail = (why: string): never => {
    throw compileError(`match error: ${why}`, a.loc, "rego_type_error");
  };
  const isObj = (t: Term) => t.t === "object";
  if ((a.t === "array" && isObj(b)) || (isObj(a) && b.t === "array")) {
    fail("incompatible destructuring patterns: array and object");
  }
  if (a.t === "array" && b.t === "array") {
    if (a.items.length !== b.items.length) {
      fail(`mismatch in number of array elements: ${a.items.length} and ${b.items.length}`);
    }
    a.items.forEach((x, i) => checkLiteralMatch(x, b.items[i] as Term));
  }
  if (a.t === "object" && b.t === "object") {
    const keys = (t: Term & { t: "object" }) => t.entries.map(([k]) => constValue(k));
    const ka = keys(a);
    const kb = keys(b);
    if (ka.every((k) => k !== undefined) && kb.every((k) => k !== undefined)) {
      const sa = new Set(ka.map((k) => stringifyJson(toJson(k as Value))));
      const sb = kb.map((k) => stringifyJson(toJson(k as Value)));
      if (sa.size !== sb.length || sb.some((k) => !sa.has(k))) {
        fail(`object literal keys mismatch: [${[...sa].join(", ")}] and [${sb.join(", ")}]`);
      }
    }
  }
}
