/**
 * Call checking: a call resolves to a user function (by package rule name, import alias or
 * `data` path) or a built-in, with its arity checked (one extra operand is the output of a call
 * written as an expression); a name OPA knows but this engine does not implement is
 * POLICY_BUILTIN_UNSUPPORTED, any other `undefined function`. `with` targets resolve the same
 * way (input, a data path, a function), and a function replaced by another function keeps its
 * target unevaluated.
 *
 * @module
 */

import type { CallTarget, CallTerm, Loc, Term, With, WithTarget } from "./ast.ts";
import {
  compileError,
  type ModuleEnv,
  NameCompiler,
  refNames,
  type Scope,
} from "./compile_names.ts";
import { RegoError } from "./errors.ts";
import type { DataNode } from "./rule_tree.ts";

/** Calls and `with` targets; terms and bodies are the subclasses'. */
export abstract class CallCompiler extends NameCompiler {
  /** Resolve a term's names in `scope`. */
  protected abstract term(t: Term, scope: Scope, env: ModuleEnv): Term;

  /** A call, target resolved and arity checked (`allowOutput`: one more operand, the output). */
  protected call(t: CallTerm, scope: Scope, env: ModuleEnv, allowOutput: boolean): CallTerm {
    const args = t.args.map((a) => this.term(a, scope, env));
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
    const b = this.options.builtins.get(joined);
    if (b !== undefined && !(b.v0Only === true && this.options.syntax === "v1")) {
      return { target: { kind: "builtin", name: joined }, arity: b.arity };
    }
    if (this.options.unsupported.has(joined)) {
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

  protected arityOf(call: CallTerm): number {
    const target = call.target;
    if (target === undefined) return -1;
    if (target.kind === "builtin") return this.options.builtins.get(target.name)?.arity ?? -1;
    let n: DataNode | undefined = this.root;
    for (const p of target.path) n = n?.children.get(p);
    const def = n?.functions[0] ?? n?.defaultRule;
    return n?.declaredArity ?? def?.args?.length ?? 0;
  }

  protected with(w: With, scope: Scope, env: ModuleEnv): With {
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
      } else if (this.options.builtins.has(names.join("."))) {
        resolved = { kind: "function", target: { kind: "builtin", name: names.join(".") } };
      } else if (this.options.unsupported.has(names.join("."))) {
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
          this.options.builtins.has(vnames.join(".")) && !env.ruleNames.has(vnames[0] as string)
        ) {
          replacement = { kind: "builtin", name: vnames.join(".") };
        }
      }
    }
    const value = replacement === undefined ? this.term(w.value, scope, env) : w.value;
    const out: With = { target, value, loc: w.loc, resolved };
    if (replacement !== undefined) out.replacement = replacement;
    return out;
  }
}
