/**
 * The compiler's foundation (`compile.ts` builds on it): name scopes and name resolution. Rule
 * names of the package and import aliases become `data`/`input` references, every other name a
 * variable with a slot in its rule's frame; nested bodies (comprehensions, `every`) get their
 * own scope and read enclosing variables as closures. A name is declared by `some`, `:=`, a
 * function parameter or an `every` variable, else it is implicit and owned by the outermost
 * scope where it occurs.
 *
 * @module
 */

import type { Body, Expr, Loc, RefTerm, Term, VarTerm } from "./ast.ts";
import type { BuiltinTable } from "./builtins/registry.ts";
import { RegoError } from "./errors.ts";
import type { RegoSyntax } from "./parser.ts";
import { constValue } from "./safety.ts";
import { DataNode } from "./rule_tree.ts";

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
export class Scope {
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
export interface ModuleEnv {
  readonly file: string;
  readonly pkg: readonly string[];
  /** First segments of rule heads in the package (across all its modules). */
  readonly ruleNames: ReadonlySet<string>;
  /** Import aliases to the reference they stand for. */
  readonly imports: ReadonlyMap<string, Term>;
  /** v1 rules apply: `input` and `data` cannot be redefined. */
  readonly v1: boolean;
}

/** A compile error at `loc` (by default `rego_compile_error`). */
export function compileError(
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
export function dataRef(path: readonly string[], loc: Loc): RefTerm {
  return {
    t: "ref",
    head: { t: "var", name: "data", slot: -1, loc },
    path: path.map((p) => ({ t: "str", value: p, loc })),
    loc,
  };
}

/** The dotted names of a var or a ref of string segments (`input.a.b`, `count`). */
export function refNames(t: Term): string[] | undefined {
  if (t.t === "var") return [t.name];
  if (t.t !== "ref" || t.head.t !== "var") return undefined;
  const out = [t.head.name];
  for (const p of t.path) {
    if (p.t !== "str") return undefined;
    out.push(p.value);
  }
  return out;
}

/** Scopes and names; terms, calls and rules are the subclasses'. */
export abstract class NameCompiler {
  protected readonly options: CompileOptions;
  /** The rule tree being built (`data`). */
  readonly root = new DataNode([]);
  /** Slots allocated in the rule (or query) being compiled. */
  protected slots = 0;
  /** The module being compiled (for version-dependent checks). */
  protected env: ModuleEnv | undefined;

  constructor(options: CompileOptions) {
    this.options = options;
  }

  // ---- names ----

  #newSlot(scope: Scope): number {
    const s = this.slots++;
    scope.allocated(s);
    return s;
  }

  /** Declare the variables of a pattern (`:=` left side, `some`, parameters) in `scope`. */
  protected declarePattern(t: Term, scope: Scope, assign = false): void {
    switch (t.t) {
      case "var":
        if (t.name === "_") return;
        if ((t.name === "input" || t.name === "data") && (this.env?.v1 ?? true)) {
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
        for (const i of t.items) this.declarePattern(i, scope, assign);
        return;
      case "object":
        for (const [, v] of t.entries) this.declarePattern(v, scope, assign);
        return;
      default:
        return;
    }
  }

  /** Record the names occurring in `t` at this scope level (not inside nested bodies). */
  protected occurrences(t: Term, scope: Scope): void {
    switch (t.t) {
      case "var":
        if (t.name !== "_" && !scope.willDeclare.has(t.name)) scope.occurs.add(t.name);
        return;
      case "ref":
        this.occurrences(t.head, scope);
        for (const p of t.path) this.occurrences(p, scope);
        return;
      case "call":
        for (const a of t.args) this.occurrences(a, scope);
        return;
      case "array":
      case "set":
        for (const i of t.items) this.occurrences(i, scope);
        return;
      case "object":
        for (const [k, v] of t.entries) {
          this.occurrences(k, scope);
          this.occurrences(v, scope);
        }
        return;
      default:
        return;
    }
  }

  protected exprOccurrences(e: Expr, scope: Scope): void {
    for (const w of e.withs) this.occurrences(w.value, scope);
    switch (e.k) {
      case "term":
        return this.occurrences(e.term, scope);
      case "callout":
        this.occurrences(e.call, scope);
        return this.occurrences(e.output, scope);
      case "unify":
        this.occurrences(e.lhs, scope);
        return this.occurrences(e.rhs, scope);
      case "assign":
        // Declared names are visible from their declaration on (see #expr).
        return this.occurrences(e.rhs, scope);
      case "some":
        return;
      case "somein":
        return this.occurrences(e.coll, scope);
      case "every":
        return this.occurrences(e.domain, scope);
    }
  }

  protected assignTarget(t: Term): void {
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
  protected resolveName(v: VarTerm, scope: Scope, env: ModuleEnv): Term {
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

  /** Note the names a body declares, before any occurrence is recorded in its scope. */
  protected noteDeclarations(body: Body, scope: Scope): void {
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
}
