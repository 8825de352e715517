/**
 * The evaluator of a query against a compiled policy (OPA's `topdown`), in layers: budgets and
 * unification (`eval_unify.ts`), bodies, expressions and terms (`eval_terms.ts`), the `data`
 * document and rules (`eval_rules.ts`), and here calls: user functions (two outputs for the
 * same inputs are a conflict), built-ins (their errors undefined, or fatal under `strict`),
 * `print`, and functions replaced by `with`.
 *
 * Budgets: every expression and every enumerated element costs a step; built-ins charge for the
 * work their outputs need before allocating; the wall clock is checked every 1,024 steps and by
 * the regex engine; nested rule and function evaluation is bounded in depth.
 *
 * @module
 */

import type { CallTarget, CallTerm, Loc, Term } from "./ast.ts";
import type { Builtin, BuiltinContext } from "./builtins/registry.ts";
import type { DataNode } from "./compile.ts";
import { Ctx, mockKey } from "./eval_context.ts";
import { RuleEvaluator } from "./eval_rules.ts";
import type { EvalEnv, Frame, VK } from "./eval_unify.ts";
import { BuiltinError, RegoError } from "./errors.ts";
import { equalValues, formatValue, type Value } from "./value.ts";

export { DEFAULT_LIMITS, type EvalEnv, type EvalLimits } from "./eval_unify.ts";

/** The evaluator of one query against a compiled policy. */
export class Evaluator extends RuleEvaluator {
  readonly #bctx: BuiltinContext;

  constructor(env: EvalEnv) {
    super(env);
    this.#bctx = {
      nowNs: () => env.nowNs,
      charge: (n) => this.charge(n),
      checkDeadline: () => this.checkDeadline(),
      random: env.random,
      memo: new Map(),
    };
  }

  /** The root context of the evaluation. */
  rootCtx(): Ctx {
    return new Ctx(this.env.input, [], new Map());
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

  protected override evalCall(t: CallTerm, f: Frame, ctx: Ctx, vk: VK): boolean {
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
    const b = this.env.builtins.get(target.name);
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
    this.step();
    let r: Value | undefined;
    try {
      r = b.fn(vals, this.#bctx);
    } catch (e) {
      if (e instanceof BuiltinError) {
        if (!this.env.strict) return false;
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
    let node: DataNode | undefined = this.env.root;
    for (const p of path) node = node?.children.get(p);
    if (node === undefined) return false;
    this.enter(loc);
    let result: Value | undefined;
    try {
      for (const rule of node.functions) {
        const f: Frame = new Array(rule.nslots);
        const params = rule.args ?? [];
        const bind = (i: number): boolean =>
          i >= params.length
            ? this.evalChain(rule, f, ctx, (v, constant) => {
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
      if (result === undefined) result = this.defaultValue(node, ctx);
    } finally {
      this.leave();
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
        if (this.env.strict) throw e;
      }
      if (vals.length === 0) return "<undefined>";
      return vals.map((v) => typeof v === "string" ? v : formatValue(v)).join(" ");
    });
    this.env.print(parts.join(" "), t.loc);
    return vk(true);
  }
}

/** The context type, for callers that create evaluations. */
export type EvalContext = Ctx;
