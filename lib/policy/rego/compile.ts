/**
 * The Rego compiler: a set of parsed modules becomes the rule tree the evaluator walks.
 *
 * What it does, in OPA's order (`ast/compile.go`):
 * 1. groups rules by package and indexes them by their head reference in a tree rooted at
 *    `data` ({@link DataNode}); conflicting kinds at one path and repeated defaults are errors;
 * 2. resolves names: rule names of the package and import aliases become `data`/`input`
 *    references, every other name a variable with a slot in its rule's frame; nested bodies
 *    (comprehensions, `every`) get their own scope and read enclosing variables as closures;
 *    calls resolve to a user function or a built-in (unknown: `undefined function`, known to
 *    OPA but not implemented here: POLICY_BUILTIN_UNSUPPORTED);
 * 3. reorders each body for safety ({@link reorderBody} in `safety.ts`): every variable must be
 *    bound before it is read (`rego_unsafe_var_error`);
 * 4. rejects recursion between rules (`rego_recursion_error`).
 *
 * The compiler is layered: `compile_names.ts` (scopes, name resolution), `compile_calls.ts`
 * (calls and `with` targets), `compile_bodies.ts` (terms, bodies, expressions, queries), and
 * here the module set: rule indexing and the checks on defaults.
 *
 * @module
 */

import type { Body, Module, Rule, Term, VarTerm } from "./ast.ts";
import { BodyCompiler } from "./compile_bodies.ts";
import {
  type CompiledQuery,
  compileError,
  type CompileOptions,
  type ModuleEnv,
  Scope,
} from "./compile_names.ts";
import { collectSlots, constValue, reorderBody } from "./safety.ts";
import {
  checkConflicts,
  checkRecursion,
  type DataNode,
  type ElseDef,
  markRules,
  type RuleDef,
  type RuleKind,
} from "./rule_tree.ts";

export { DataNode, type ElseDef, type RuleDef, type RuleKind } from "./rule_tree.ts";
export type { CompiledModules, CompiledQuery, CompileOptions } from "./compile_names.ts";

/** The compiler proper: one instance per compilation. */
class Compiler extends BodyCompiler {
  // ---- module set ----

  compileModules(modules: readonly Module[]): void {
    const names = new Map<string, Set<string>>();
    for (const m of modules) {
      const key = m.pkg.join(".");
      let set = names.get(key);
      if (set === undefined) names.set(key, set = new Set());
      for (const r of m.rules) set.add((r.head.ref[0] as VarTerm).name);
    }
    const pending: { rule: Rule; env: ModuleEnv; node: DataNode; suffix: Term[] }[] = [];
    for (const m of modules) {
      let pkgNode = this.root;
      for (const p of m.pkg) pkgNode = pkgNode.child(p);
      pkgNode.isPackage = true;
      const env: ModuleEnv = {
        file: m.file,
        pkg: m.pkg,
        ruleNames: names.get(m.pkg.join(".")) ?? new Set(),
        imports: this.#imports(m),
        v1: m.v1,
      };
      for (const rule of m.rules) {
        const name = (rule.head.ref[0] as VarTerm).name;
        if (m.v1 && (name === "data" || name === "input")) {
          throw compileError(`${name} cannot be shadowed`, rule.loc);
        }
        // The node is the longest leading run of string segments of the head reference.
        let node = pkgNode;
        const ref = rule.head.ref;
        let i = 1;
        node = node.child((ref[0] as VarTerm).name);
        for (; i < ref.length; i++) {
          const seg = ref[i] as Term;
          if (seg.t !== "str") break;
          node = node.child(seg.value);
        }
        pending.push({ rule, env, node, suffix: ref.slice(i) });
      }
    }
    // Functions are callable from rules written before them: record their arity first.
    for (const p of pending) {
      const args = p.rule.head.args;
      if (args !== undefined && p.suffix.length === 0 && p.node.declaredArity === undefined) {
        p.node.declaredArity = args.length;
      }
    }
    for (const p of pending) this.#addRule(p.rule, p.env, p.node, p.suffix);
    markRules(this.root);
    checkConflicts(this.root);
    checkRecursion(this.root);
  }

  #imports(m: Module): Map<string, Term> {
    const out = new Map<string, Term>();
    for (const imp of m.imports) {
      const p = imp.path;
      const rootName = p.t === "var"
        ? p.name
        : p.t === "ref" && p.head.t === "var"
        ? p.head.name
        : "";
      if (rootName === "future" || rootName === "rego") continue;
      const segs = p.t === "ref" ? p.path.map((s) => (s as { value: string }).value) : [];
      const alias = imp.alias ?? (segs.length > 0 ? segs[segs.length - 1] as string : rootName);
      if (alias === "input" && rootName === "input" && segs.length === 0) continue;
      if (rootName === "data" && segs.length === 0 && imp.alias === undefined) continue;
      if (out.has(alias)) {
        throw compileError(`import must not shadow import ${alias}`, imp.loc);
      }
      out.set(alias, {
        t: "ref",
        head: { t: "var", name: rootName, slot: -1, loc: imp.loc },
        path: segs.map((s) => ({ t: "str", value: s, loc: imp.loc })),
        loc: imp.loc,
      });
    }
    return out;
  }

  #addRule(rule: Rule, env: ModuleEnv, node: DataNode, suffix: Term[]): void {
    const head = rule.head;
    const kind: RuleKind = head.args !== undefined
      ? "function"
      : head.key !== undefined
      ? "set"
      : suffix.length > 0
      ? "object"
      : "complete";
    if (kind === "function" && suffix.length > 0) {
      throw compileError("function name must be a ground reference", head.loc);
    }
    this.env = env;
    this.slots = 0;
    const headScope = new Scope(undefined);
    headScope.isHead = true;
    const bodyScope = new Scope(headScope);
    // Function parameters are declared in the head scope, shared with the else clauses.
    const args = head.args?.map((a) => {
      this.declarePattern(a, headScope);
      return this.term(a, headScope, env);
    });
    const headTerms = [
      ...suffix,
      ...(head.key === undefined ? [] : [head.key]),
      ...(head.value === undefined ? [] : [head.value]),
    ];
    this.noteDeclarations(rule.body, bodyScope);
    for (const t of headTerms) this.occurrences(t, bodyScope);
    const valueTerm: Term = head.value ?? { t: "bool", value: true, loc: head.loc };
    if (rule.isDefault) {
      const bad = nonGround(valueTerm);
      if (bad !== undefined) {
        throw compileError(
          `invalid \`${bad}\` in default value: default rule values must be constant`,
          head.loc,
        );
      }
    }
    const body = this.body(rule.body, bodyScope, env);
    if (rule.isDefault) {
      const v = this.term(valueTerm, bodyScope, env);
      const used = new Set<number>();
      collectSlots(v, used);
      if (v.t === "compr" && (v.free ?? []).length > 0 || (v.t !== "compr" && used.size > 0)) {
        throw compileError(
          "invalid `var` in default value: default rule values must be constant",
          head.loc,
        );
      }
    }
    const rsuffix = suffix.map((t) => this.term(t, bodyScope, env));
    const rkey = head.key === undefined ? undefined : this.term(head.key, bodyScope, env);
    const rvalue = this.term(valueTerm, bodyScope, env);
    // Parameters live in the head scope: bound by the call before the body runs.
    const safeInit = (slot: number) => !bodyScope.own.has(slot);
    const headCheck = [...rsuffix, ...(rkey === undefined ? [] : [rkey]), rvalue];
    const ordered = reorderBody(body, safeInit, headCheck);
    const elses: ElseDef[] = [];
    for (const e of rule.elses) {
      const scope = new Scope(headScope);
      const ev = e.value ?? { t: "bool", value: true, loc: e.loc };
      this.noteDeclarations(e.body, scope);
      this.occurrences(ev, scope);
      const eb = this.body(e.body, scope, env);
      const evr = this.term(ev, scope, env);
      const eSafe = (slot: number) => !scope.own.has(slot);
      const ordered = reorderBody(eb, eSafe, [evr]);
      elses.push({ value: evr, body: ordered, constant: constValue(evr) });
    }
    const def: RuleDef = {
      kind,
      node,
      suffix: rsuffix,
      key: rkey,
      value: rvalue,
      args,
      body: ordered,
      elses,
      nslots: this.slots,
      isDefault: rule.isDefault,
      loc: rule.loc,
      constant: constValue(rvalue),
    };
    if (rule.isDefault) {
      if (node.defaultRule !== undefined) {
        throw compileError(
          `multiple default rules ${node.name} found`,
          rule.loc,
          "rego_type_error",
        );
      }
      if (kind === "set" || kind === "object") {
        throw compileError(`default rules must be complete rules or functions`, rule.loc);
      }
      node.defaultRule = def;
      return;
    }
    switch (kind) {
      case "complete":
        node.complete.push(def);
        break;
      case "set":
        // `p[x].q contains y`: a set inside an object built by the rule.
        if (def.suffix.length > 0) node.objects.push(def);
        else node.sets.push(def);
        break;
      case "object":
        node.objects.push(def);
        break;
      case "function":
        node.functions.push(def);
        break;
    }
  }
}

/** What makes a default value non-constant, in regorus's words (`var`, `ref`, `call`). */
function nonGround(t: Term): string | undefined {
  switch (t.t) {
    case "var":
      return "var";
    case "ref":
      return "ref";
    case "call":
      return "call";
    case "compr":
      return undefined; // checked for free variables once compiled
    case "array":
    case "set":
      for (const i of t.items) {
        const b = nonGround(i);
        if (b !== undefined) return b;
      }
      return undefined;
    case "object":
      for (const [k, v] of t.entries) {
        const b = nonGround(k) ?? nonGround(v);
        if (b !== undefined) return b;
      }
      return undefined;
    default:
      return undefined;
  }
}

/** Compile modules into the rule tree. Throws `RegoError` on the first compile error. */
export function compileModules(
  modules: readonly Module[],
  options: CompileOptions,
): { root: DataNode; compileQuery: (body: Body, pkg?: readonly string[]) => CompiledQuery } {
  const c = new Compiler(options);
  c.compileModules(modules);
  return {
    root: c.root,
    compileQuery: (body, pkg = []) =>
      c.compileQuery(body, {
        file: "query",
        pkg,
        ruleNames: new Set(),
        imports: new Map(),
        v1: true,
      }),
  };
}
