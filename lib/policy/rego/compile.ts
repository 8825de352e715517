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
 * @module
 */

import type {
  Body,
  CallTarget,
  CallTerm,
  ComprTerm,
  EveryExpr,
  Expr,
  Loc,
  Module,
  RefTerm,
  Rule,
  Term,
  VarTerm,
  With,
  WithTarget,
} from "./ast.ts";
import type { BuiltinTable } from "./builtins/registry.ts";
import { RegoError } from "./errors.ts";
import type { RegoSyntax } from "./parser.ts";
import { collectSlots, constValue, reorderBody } from "./safety.ts";
import { stringifyJson, toJson, type Value } from "./value.ts";
import {
  checkConflicts,
  checkRecursion,
  DataNode,
  type ElseDef,
  markRules,
  type RuleDef,
  type RuleKind,
} from "./rule_tree.ts";

export { DataNode, type ElseDef, type RuleDef, type RuleKind } from "./rule_tree.ts";

/** Options of the compiler. */
export interface CompileOptions {
  /** The syntax the modules were parsed with (v0 enables OPA 0.x built-ins such as `any`). */
  readonly syntax: RegoSyntax;
  /** The built-ins available. */
  readonly builtins: BuiltinTable;
  /** Names of OPA built-ins this engine knows of but does not implement. */
  readonly unsupported: ReadonlySet<string>;
}

/** The result of compiling modules. */
export interface CompiledModules {
  /** The root of the rule tree (`data`). */
  readonly root: DataNode;
}

/** A compiled query: its body, frame size and the user variables to report as bindings. */
export interface CompiledQuery {
  /** The expressions in evaluation (safety) order. */
  readonly body: Body;
  /** The same expressions in written order. */
  readonly written: Body;
  readonly nslots: number;
  /** User-named query variables (not `_`, not generated), in order of appearance. */
  readonly vars: readonly { readonly name: string; readonly slot: number }[];
}

/** A name scope: one body (rule, comprehension, `every`). */
class Scope {
  readonly parent: Scope | undefined;
  /** The head scope of a function: its parameters cannot be assigned in the body. */
  isHead = false;
  /** Explicitly declared names (`some`, `:=`, function parameters, `every` variables). */
  readonly declared = new Map<string, number>();
  /** Names occurring in this body outside nested bodies. */
  readonly occurs = new Set<string>();
  /** Names this body declares (`:=`, `some`): never implicit variables of this scope. */
  readonly willDeclare = new Set<string>();
  /** Implicit variables allocated here. */
  readonly implicit = new Map<string, number>();
  /** Slots allocated in this scope and its descendants. */
  readonly own = new Set<number>();

  constructor(parent: Scope | undefined) {
    this.parent = parent;
  }

  allocated(slot: number): void {
    this.own.add(slot);
    for (let s = this.parent; s !== undefined; s = s.parent) s.own.add(slot);
  }
}

/** Per-module name environment. */
interface ModuleEnv {
  readonly file: string;
  readonly pkg: readonly string[];
  /** First segments of rule heads in the package (across all its modules). */
  readonly ruleNames: ReadonlySet<string>;
  /** Import aliases to the reference they stand for. */
  readonly imports: ReadonlyMap<string, Term>;
  /** v1 rules apply: `input` and `data` cannot be redefined. */
  readonly v1: boolean;
}

function compileError(
  message: string,
  loc: Loc | undefined,
  code:
    | "rego_compile_error"
    | "rego_type_error"
    | "rego_unsafe_var_error"
    | "rego_recursion_error" = "rego_compile_error",
): RegoError {
  return new RegoError(code, message, { location: loc });
}

/** A reference to `data.<path>` at `loc`. */
function dataRef(path: readonly string[], loc: Loc): RefTerm {
  return {
    t: "ref",
    head: { t: "var", name: "data", slot: -1, loc },
    path: path.map((p) => ({ t: "str", value: p, loc })),
    loc,
  };
}

/** The compiler proper: one instance per compilation. */
class Compiler {
  readonly #options: CompileOptions;
  readonly root = new DataNode([]);
  #slots = 0;
  /** The module being compiled (for version-dependent checks). */
  #env: ModuleEnv | undefined;

  constructor(options: CompileOptions) {
    this.#options = options;
  }

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
    this.#env = env;
    this.#slots = 0;
    const headScope = new Scope(undefined);
    headScope.isHead = true;
    const bodyScope = new Scope(headScope);
    // Function parameters are declared in the head scope, shared with the else clauses.
    const args = head.args?.map((a) => {
      this.#declarePattern(a, headScope);
      return this.#term(a, headScope, env);
    });
    const headTerms = [
      ...suffix,
      ...(head.key === undefined ? [] : [head.key]),
      ...(head.value === undefined ? [] : [head.value]),
    ];
    this.#noteDeclarations(rule.body, bodyScope);
    for (const t of headTerms) this.#occurrences(t, bodyScope);
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
    const body = this.#body(rule.body, bodyScope, env);
    if (rule.isDefault) {
      const v = this.#term(valueTerm, bodyScope, env);
      const used = new Set<number>();
      collectSlots(v, used);
      if (v.t === "compr" && (v.free ?? []).length > 0 || (v.t !== "compr" && used.size > 0)) {
        throw compileError(
          "invalid `var` in default value: default rule values must be constant",
          head.loc,
        );
      }
    }
    const rsuffix = suffix.map((t) => this.#term(t, bodyScope, env));
    const rkey = head.key === undefined ? undefined : this.#term(head.key, bodyScope, env);
    const rvalue = this.#term(valueTerm, bodyScope, env);
    // Parameters live in the head scope: bound by the call before the body runs.
    const safeInit = (slot: number) => !bodyScope.own.has(slot);
    const headCheck = [...rsuffix, ...(rkey === undefined ? [] : [rkey]), rvalue];
    const ordered = reorderBody(body, safeInit, headCheck);
    const elses: ElseDef[] = [];
    for (const e of rule.elses) {
      const scope = new Scope(headScope);
      const ev = e.value ?? { t: "bool", value: true, loc: e.loc };
      this.#noteDeclarations(e.body, scope);
      this.#occurrences(ev, scope);
      const eb = this.#body(e.body, scope, env);
      const evr = this.#term(ev, scope, env);
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
      nslots: this.#slots,
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

  // ---- names ----

  #newSlot(scope: Scope): number {
    const s = this.#slots++;
    scope.allocated(s);
    return s;
  }

  /** Declare the variables of a pattern (`:=` left side, `some`, parameters) in `scope`. */
  #declarePattern(t: Term, scope: Scope, assign = false): void {
    switch (t.t) {
      case "var":
        if (t.name === "_") return;
        if ((t.name === "input" || t.name === "data") && (this.#env?.v1 ?? true)) {
          throw compileError(`${t.name} cannot be shadowed`, t.loc);
        }
        if (
          assign &&
          (scope.declared.has(t.name) ||
            (scope.parent?.isHead === true && scope.parent.declared.has(t.name)))
        ) {
          throw compileError(`var ${t.name} assigned above`, t.loc);
        }
        if (assign && scope.implicit.has(t.name)) {
          throw compileError(`var ${t.name} referenced above`, t.loc);
        }
        if (!scope.declared.has(t.name)) scope.declared.set(t.name, this.#newSlot(scope));
        return;
      case "array":
        for (const i of t.items) this.#declarePattern(i, scope, assign);
        return;
      case "object":
        for (const [, v] of t.entries) this.#declarePattern(v, scope, assign);
        return;
      default:
        return;
    }
  }

  /** Record the names occurring in `t` at this scope level (not inside nested bodies). */
  #occurrences(t: Term, scope: Scope): void {
    switch (t.t) {
      case "var":
        if (t.name !== "_" && !scope.willDeclare.has(t.name)) scope.occurs.add(t.name);
        return;
      case "ref":
        this.#occurrences(t.head, scope);
        for (const p of t.path) this.#occurrences(p, scope);
        return;
      case "call":
        for (const a of t.args) this.#occurrences(a, scope);
        return;
      case "array":
      case "set":
        for (const i of t.items) this.#occurrences(i, scope);
        return;
      case "object":
        for (const [k, v] of t.entries) {
          this.#occurrences(k, scope);
          this.#occurrences(v, scope);
        }
        return;
      default:
        return;
    }
  }

  #exprOccurrences(e: Expr, scope: Scope): void {
    for (const w of e.withs) this.#occurrences(w.value, scope);
    switch (e.k) {
      case "term":
        return this.#occurrences(e.term, scope);
      case "callout":
        this.#occurrences(e.call, scope);
        return this.#occurrences(e.output, scope);
      case "unify":
        this.#occurrences(e.lhs, scope);
        return this.#occurrences(e.rhs, scope);
      case "assign":
        // Declared names are visible from their declaration on (see #expr).
        return this.#occurrences(e.rhs, scope);
      case "some":
        return;
      case "somein":
        return this.#occurrences(e.coll, scope);
      case "every":
        return this.#occurrences(e.domain, scope);
    }
  }

  #assignTarget(t: Term): void {
    const ok = (x: Term): boolean =>
      x.t === "var" ||
      (x.t === "array" && x.items.every(ok)) ||
      (x.t === "object" && x.entries.every(([, v]) => ok(v) || constValue(v) !== undefined));
    if (!ok(t)) {
      throw compileError(
        "cannot assign to " + (t.t === "ref" ? "ref" : t.t === "call" ? "call" : t.t),
        t.loc,
      );
    }
  }

  /** Resolve a variable name to a local slot or a global reference. */
  #resolveName(v: VarTerm, scope: Scope, env: ModuleEnv): Term {
    if (v.name === "_") return { t: "var", name: "_", slot: this.#newSlot(scope), loc: v.loc };
    for (let s: Scope | undefined = scope; s !== undefined; s = s.parent) {
      const slot = s.declared.get(v.name);
      if (slot !== undefined) return { t: "var", name: v.name, slot, loc: v.loc };
    }
    if (v.name === "data" || v.name === "input") {
      return {
        t: "ref",
        head: { t: "var", name: v.name, slot: -1, loc: v.loc },
        path: [],
        loc: v.loc,
      };
    }
    const imp = env.imports.get(v.name);
    if (imp !== undefined) return { ...(imp as RefTerm), loc: v.loc };
    if (env.ruleNames.has(v.name)) return dataRef([...env.pkg, v.name], v.loc);
    // The outermost scope where the name occurs owns the variable.
    let owner: Scope = scope;
    for (let s: Scope | undefined = scope; s !== undefined; s = s.parent) {
      if (s.occurs.has(v.name)) owner = s;
    }
    let slot = owner.implicit.get(v.name);
    if (slot === undefined) {
      slot = this.#newSlot(owner);
      owner.implicit.set(v.name, slot);
    }
    return { t: "var", name: v.name, slot, loc: v.loc };
  }

  #term(t: Term, scope: Scope, env: ModuleEnv): Term {
    switch (t.t) {
      case "null":
      case "bool":
      case "num":
      case "str":
        return t;
      case "var":
        return this.#resolveName(t, scope, env);
      case "ref": {
        const head = t.head.t === "var"
          ? this.#resolveName(t.head, scope, env)
          : this.#term(t.head, scope, env);
        const path = t.path.map((p) => this.#term(p, scope, env));
        if (head.t === "ref") {
          return { t: "ref", head: head.head, path: [...head.path, ...path], loc: t.loc };
        }
        return { t: "ref", head, path, loc: t.loc };
      }
      case "array":
        return { t: "array", items: t.items.map((i) => this.#term(i, scope, env)), loc: t.loc };
      case "set":
        return { t: "set", items: t.items.map((i) => this.#term(i, scope, env)), loc: t.loc };
      case "object":
        return {
          t: "object",
          entries: t.entries.map((
            [k, v],
          ) => [this.#term(k, scope, env), this.#term(v, scope, env)]),
          loc: t.loc,
        };
      case "call":
        return this.#call(t, scope, env, false);
      case "compr":
        return this.#compr(t, scope, env);
    }
  }

  #call(t: CallTerm, scope: Scope, env: ModuleEnv, allowOutput: boolean): CallTerm {
    const args = t.args.map((a) => this.#term(a, scope, env));
    const { target, arity } = this.#callTarget(t.name, t.loc, env, t.op !== undefined, scope);
    const name = target.kind === "builtin" ? target.name.split(".") : ["data", ...target.path];
    const display = target.kind === "builtin" ? target.name : ["data", ...target.path].join(".");
    if (arity >= 0 && args.length !== arity && !(allowOutput && args.length === arity + 1)) {
      throw compileError(
        `${display}: arity mismatch: have ${args.length} operand(s), want ${arity}`,
        t.loc,
        "rego_type_error",
      );
    }
    return t.op === undefined
      ? { t: "call", name, args, loc: t.loc, target }
      : { t: "call", name, args, loc: t.loc, target, op: t.op };
  }

  /** Resolve a function name to a user function or a built-in, and its arity (-1: variadic). */
  #callTarget(
    name: readonly string[],
    loc: Loc,
    env: ModuleEnv,
    operator: boolean,
    scope: Scope,
  ): { target: CallTarget; arity: number } {
    const joined = name.join(".");
    if (!operator) {
      const path = this.#functionPath(name, env, scope);
      if (path !== undefined) {
        let n: DataNode | undefined = this.root;
        for (const p of path) n = n?.children.get(p);
        if (n !== undefined && n.isFunction) {
          const def = n.functions[0] ?? n.defaultRule;
          return {
            target: { kind: "function", path },
            arity: n.declaredArity ?? def?.args?.length ?? 0,
          };
        }
        if (n !== undefined && (n.hasOwnRules || n.children.size > 0)) {
          throw compileError(
            `${["data", ...path].join(".")} is not a function`,
            loc,
            "rego_type_error",
          );
        }
        if (name[0] === "data" || env.ruleNames.has(name[0] as string)) {
          throw compileError(
            `undefined function ${["data", ...path].join(".")}`,
            loc,
            "rego_type_error",
          );
        }
      }
    }
    const b = this.#options.builtins.get(joined);
    if (b !== undefined && !(b.v0Only === true && this.#options.syntax === "v1")) {
      return { target: { kind: "builtin", name: joined }, arity: b.arity };
    }
    if (this.#options.unsupported.has(joined)) {
      throw new RegoError(
        "rego_type_error",
        `built-in "${joined}" is not supported by this engine`,
        {
          policyCode: "POLICY_BUILTIN_UNSUPPORTED",
          location: loc,
        },
      );
    }
    throw compileError(`undefined function ${joined}`, loc, "rego_type_error");
  }

  /** The data path a (non-builtin) function name refers to, if it can be one. */
  #functionPath(name: readonly string[], env: ModuleEnv, scope: Scope): string[] | undefined {
    const first = name[0] as string;
    for (let s: Scope | undefined = scope; s !== undefined; s = s.parent) {
      if (s.declared.has(first)) return undefined;
    }
    if (first === "data") return name.slice(1);
    const imp = env.imports.get(first);
    if (imp !== undefined && imp.t === "ref" && imp.head.t === "var" && imp.head.name === "data") {
      return [...imp.path.map((p) => (p as { value: string }).value), ...name.slice(1)];
    }
    if (env.ruleNames.has(first)) return [...env.pkg, ...name];
    return undefined;
  }

  #compr(t: ComprTerm, parent: Scope, env: ModuleEnv): ComprTerm {
    const scope = new Scope(parent);
    this.#noteDeclarations(t.body, scope);
    this.#occurrences(t.head, scope);
    if (t.value !== undefined) this.#occurrences(t.value, scope);
    const body = this.#body(t.body, scope, env);
    const head = this.#term(t.head, scope, env);
    const value = t.value === undefined ? undefined : this.#term(t.value, scope, env);
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

  /** Note the names a body declares, before any occurrence is recorded in its scope. */
  #noteDeclarations(body: Body, scope: Scope): void {
    const names = (t: Term): void => {
      if (t.t === "var" && t.name !== "_") scope.willDeclare.add(t.name);
      else if (t.t === "array") t.items.forEach(names);
      else if (t.t === "object") t.entries.forEach(([, v]) => names(v));
    };
    for (const e of body) {
      if (e.k === "assign") names(e.lhs);
      else if (e.k === "some") e.vars.forEach(names);
      else if (e.k === "somein") {
        if (e.key !== undefined) names(e.key);
        names(e.value);
      }
    }
  }

  #body(body: Body, scope: Scope, env: ModuleEnv): Body {
    this.#noteDeclarations(body, scope);
    for (const e of body) this.#exprOccurrences(e, scope);
    return body.map((e) => this.#expr(e, scope, env));
  }

  #expr(e: Expr, scope: Scope, env: ModuleEnv): Expr {
    const withs = e.withs.map((w) => this.#with(w, scope, env));
    const base = { negated: e.negated, withs, loc: e.loc, text: e.text };
    switch (e.k) {
      case "term": {
        if (e.term.t === "call" && e.term.op === undefined) {
          const call = this.#call(e.term, scope, env, true);
          const arity = this.#arityOf(call);
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
        return { k: "term", term: this.#term(e.term, scope, env), ...base };
      }
      case "callout":
        return e;
      case "unify": {
        const lhs = this.#term(e.lhs, scope, env);
        const rhs = this.#term(e.rhs, scope, env);
        checkLiteralMatch(lhs, rhs);
        return { k: "unify", lhs, rhs, ...base };
      }
      case "assign": {
        const rhs = this.#term(e.rhs, scope, env);
        this.#assignTarget(e.lhs);
        this.#declarePattern(e.lhs, scope, true);
        const lhs = this.#term(e.lhs, scope, env);
        checkLiteralMatch(lhs, rhs);
        return { k: "assign", lhs, rhs, ...base };
      }
      case "some":
        for (const v of e.vars) this.#declarePattern(v, scope, true);
        return {
          k: "some",
          vars: e.vars.map((v) => this.#resolveName(v, scope, env) as VarTerm),
          ...base,
        };
      case "somein": {
        const coll = this.#term(e.coll, scope, env);
        if (e.key !== undefined) this.#declarePattern(e.key, scope, true);
        this.#declarePattern(e.value, scope, true);
        return {
          k: "somein",
          key: e.key === undefined ? undefined : this.#term(e.key, scope, env),
          value: this.#term(e.value, scope, env),
          coll,
          ...base,
        };
      }
      case "every":
        return this.#every(e, scope, env, base);
    }
  }

  #arityOf(call: CallTerm): number {
    const target = call.target;
    if (target === undefined) return -1;
    if (target.kind === "builtin") return this.#options.builtins.get(target.name)?.arity ?? -1;
    let n: DataNode | undefined = this.root;
    for (const p of target.path) n = n?.children.get(p);
    const def = n?.functions[0] ?? n?.defaultRule;
    return n?.declaredArity ?? def?.args?.length ?? 0;
  }

  #every(
    e: EveryExpr,
    parent: Scope,
    env: ModuleEnv,
    base: { negated: boolean; withs: With[]; loc: Loc; text: string },
  ): Expr {
    const domain = this.#term(e.domain, parent, env);
    const scope = new Scope(parent);
    if (e.key !== undefined) this.#declarePattern(e.key, scope);
    this.#declarePattern(e.value, scope);
    const key = e.key === undefined ? undefined : this.#term(e.key, scope, env);
    const value = this.#term(e.value, scope, env);
    const body = this.#body(e.body, scope, env);
    const bound = new Set<number>();
    if (key !== undefined) collectSlots(key, bound);
    collectSlots(value, bound);
    const ordered = reorderBody(body, (s) => bound.has(s) || !scope.own.has(s), []);
    const used = new Set<number>();
    for (const x of ordered) collectSlots(x, used);
    const free = [...used].filter((s) => !scope.own.has(s));
    return { k: "every", key, value, domain, body: ordered, free, ...base };
  }

  #with(w: With, scope: Scope, env: ModuleEnv): With {
    const target = w.target;
    const names = refNames(target);
    if (names === undefined) {
      throw compileError(
        "with keyword target must reference existing input, data, or a function",
        w.loc,
      );
    }
    let resolved: WithTarget;
    const first = names[0] as string;
    const imp = env.imports.get(first);
    if (first === "input") resolved = { kind: "input", path: names.slice(1) };
    else if (
      imp !== undefined && imp.t === "ref" && imp.head.t === "var" && imp.head.name === "input"
    ) {
      resolved = {
        kind: "input",
        path: [...imp.path.map((p) => (p as { value: string }).value), ...names.slice(1)],
      };
    } else {
      const fpath = this.#functionPath(names, env, scope);
      let n: DataNode | undefined = this.root;
      for (const p of fpath ?? []) n = n?.children.get(p);
      if (fpath !== undefined && n !== undefined && n.isFunction) {
        resolved = { kind: "function", target: { kind: "function", path: fpath } };
      } else if (first === "data" || (fpath !== undefined && fpath.length > 0)) {
        resolved = { kind: "data", path: fpath ?? names.slice(1) };
      } else if (this.#options.builtins.has(names.join("."))) {
        resolved = { kind: "function", target: { kind: "builtin", name: names.join(".") } };
      } else if (this.#options.unsupported.has(names.join("."))) {
        resolved = { kind: "function", target: { kind: "builtin", name: names.join(".") } };
      } else {
        throw compileError(
          "with keyword target must reference existing input, data, or a function",
          w.loc,
        );
      }
    }
    let replacement: CallTarget | undefined;
    if (resolved.kind === "function") {
      const vnames = refNames(w.value);
      if (vnames !== undefined) {
        const fpath = this.#functionPath(vnames, env, scope);
        let n: DataNode | undefined = this.root;
        for (const p of fpath ?? []) n = n?.children.get(p);
        if (fpath !== undefined && n !== undefined && n.isFunction) {
          replacement = { kind: "function", path: fpath };
        } else if (
          this.#options.builtins.has(vnames.join(".")) && !env.ruleNames.has(vnames[0] as string)
        ) {
          replacement = { kind: "builtin", name: vnames.join(".") };
        }
      }
    }
    const value = replacement === undefined ? this.#term(w.value, scope, env) : w.value;
    const out: With = { target, value, loc: w.loc, resolved };
    if (replacement !== undefined) out.replacement = replacement;
    return out;
  }

  // ---- queries ----

  compileQuery(body: Body, env: ModuleEnv): CompiledQuery {
    this.#env = env;
    this.#slots = 0;
    const scope = new Scope(undefined);
    const resolved = this.#body(body, scope, env);
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
    return { body: ordered, written: resolved, nslots: this.#slots, vars };
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

/** The dotted names of a var or a ref of string segments (`input.a.b`, `count`). */
function refNames(t: Term): string[] | undefined {
  if (t.t === "var") return [t.name];
  if (t.t !== "ref" || t.head.t !== "var") return undefined;
  const out = [t.head.name];
  for (const p of t.path) {
    if (p.t !== "str") return undefined;
    out.push(p.value);
  }
  return out;
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
