/**
 * The rule tree: {@link DataNode}s indexed by path from `data`, the compiled rules they hold,
 * and the whole-tree checks OPA's compiler makes once every rule is known: conflicting rule
 * kinds at one path (`rego_type_error: conflicting rules`) and recursion between rules
 * (`rego_recursion_error`, found by an iterative depth-first search over rule dependencies).
 *
 * @module
 */

import type { Body, CallTerm, Expr, Loc, RefTerm, Term } from "./ast.ts";
import { RegoError } from "./errors.ts";
import { constValue } from "./safety.ts";
import type { Value } from "./value.ts";

function treeError(
  message: string,
  loc: Loc | undefined,
  code: "rego_type_error" | "rego_recursion_error",
): RegoError {
  return new RegoError(code, message, { location: loc });
}

/** How a rule contributes to its node's document. */
export type RuleKind = "complete" | "set" | "object" | "function";

/** An `else` clause, compiled. */
export interface ElseDef {
  readonly value: Term;
  readonly body: Body;
  /** The value when it is a constant. */
  readonly constant: Value | undefined;
}

/** One compiled rule definition. */
export interface RuleDef {
  readonly kind: RuleKind;
  readonly node: DataNode;
  /** Object rules: the head reference after the node's (ground string) path. */
  readonly suffix: Term[];
  /** Set rules: the element. */
  readonly key: Term | undefined;
  /** The value (complete, object, function). */
  readonly value: Term;
  /** Function parameters. */
  readonly args: Term[] | undefined;
  readonly body: Body;
  readonly elses: ElseDef[];
  /** The size of the rule's frame. */
  readonly nslots: number;
  readonly isDefault: boolean;
  readonly loc: Loc;
  /** The value when it is a constant (no variables): lets complete rules stop early. */
  readonly constant: Value | undefined;
}

/** A node of the `data` tree: a path, child nodes, and the rules defined at exactly this path. */
export class DataNode {
  /** The path from `data`. */
  readonly path: readonly string[];
  /** Child nodes by key. */
  readonly children: Map<string, DataNode> = new Map();
  /** Complete rules (not default). */
  readonly complete: RuleDef[] = [];
  /** Multi-value (set) rules. */
  readonly sets: RuleDef[] = [];
  /** Object rules whose ground path ends here. */
  readonly objects: RuleDef[] = [];
  /** Function definitions. */
  readonly functions: RuleDef[] = [];
  /** The default rule or function, if any. */
  defaultRule: RuleDef | undefined;
  /** Some module declares this package. */
  isPackage = false;
  /** Whether this node or a descendant holds rules (set by the compiler). */
  hasRules = false;
  /** The arity of the function defined here, known before rule bodies are compiled. */
  declaredArity: number | undefined;

  constructor(path: readonly string[]) {
    this.path = path;
  }

  /** The child at `key`, created on demand. */
  child(key: string): DataNode {
    let c = this.children.get(key);
    if (c === undefined) {
      c = new DataNode([...this.path, key]);
      this.children.set(key, c);
    }
    return c;
  }

  /** Whether rules are defined at exactly this node. */
  get hasOwnRules(): boolean {
    return this.complete.length > 0 || this.sets.length > 0 || this.objects.length > 0 ||
      this.functions.length > 0 || this.defaultRule !== undefined;
  }

  /** Whether this node defines a function. */
  get isFunction(): boolean {
    return this.declaredArity !== undefined || this.functions.length > 0 ||
      (this.defaultRule !== undefined && this.defaultRule.kind === "function");
  }

  /** `data.a.b` for messages. */
  get name(): string {
    return ["data", ...this.path].join(".");
  }
}

/** Set `hasRules` on every node: whether it or a descendant defines rules (or is a package). */
export function markRules(node: DataNode): boolean {
  // Packages are documents even without rules (`data.p` is `{}`).
  let has = node.hasOwnRules || node.isPackage;
  for (const c of node.children.values()) if (markRules(c)) has = true;
  node.hasRules = has;
  return has;
}

/** Reject conflicting rule kinds at one path and rules below complete or set rules. */
export function checkConflicts(node: DataNode): void {
  const kinds = new Set<string>();
  if (node.complete.length > 0) kinds.add("complete");
  if (node.sets.length > 0) kinds.add("multi-value");
  if (node.functions.length > 0) kinds.add("function");
  if (node.defaultRule !== undefined) {
    kinds.add(node.defaultRule.kind === "function" ? "function" : "complete");
  }
  const first = node.complete[0] ?? node.sets[0] ?? node.functions[0] ?? node.objects[0] ??
    node.defaultRule;
  if (kinds.size > 1) {
    throw treeError(`conflicting rules ${node.name} found`, first?.loc, "rego_type_error");
  }
  if (kinds.size === 1 && node.objects.length > 0 && !kinds.has("complete")) {
    throw treeError(`conflicting rules ${node.name} found`, first?.loc, "rego_type_error");
  }
  const arities = new Set(node.functions.map((f) => f.args?.length ?? 0));
  if (node.defaultRule?.kind === "function") arities.add(node.defaultRule.args?.length ?? 0);
  if (arities.size > 1) {
    throw treeError(
      `conflicting rules ${node.name} found: functions with different arity`,
      first?.loc,
      "rego_type_error",
    );
  }
  const leaf = node.complete.length > 0 || node.sets.length > 0 || node.isFunction ||
    node.defaultRule !== undefined;
  if (leaf) {
    for (const c of node.children.values()) {
      if (c.hasRules) {
        throw treeError(
          `rule ${node.name} conflicts with rules under it (${c.name})`,
          first?.loc,
          "rego_type_error",
        );
      }
    }
  }
  for (const c of node.children.values()) checkConflicts(c);
}

/** Reject rules that depend on themselves (OPA: `rego_recursion_error`). */
export function checkRecursion(root: DataNode): void {
  const deps = new Map<DataNode, Set<DataNode>>();
  const rulesOf = (n: DataNode) => [
    ...n.complete,
    ...n.sets,
    ...n.objects,
    ...n.functions,
    ...(n.defaultRule === undefined ? [] : [n.defaultRule]),
  ];
  const visit = (n: DataNode) => {
    if (n.hasOwnRules) {
      const out = new Set<DataNode>();
      for (const r of rulesOf(n)) ruleDeps(root, r, out);
      deps.set(n, out);
    }
    for (const c of n.children.values()) visit(c);
  };
  visit(root);
  const state = new Map<DataNode, 1 | 2>();
  // Iterative depth-first search: a long chain of rules must not overflow the JS stack.
  const dfs = (start: DataNode): void => {
    const stack: DataNode[] = [start];
    const iters: Iterator<DataNode>[] = [(deps.get(start) ?? new Set()).values()];
    state.set(start, 1);
    while (stack.length > 0) {
      const it = iters[iters.length - 1] as Iterator<DataNode>;
      const next = it.next();
      if (next.done === true) {
        state.set(stack.pop() as DataNode, 2);
        iters.pop();
        continue;
      }
      const d = next.value;
      const s = state.get(d);
      if (s === 1) {
        const cycle = [...stack.slice(stack.indexOf(d)), d].map((x) => x.name);
        const loc = rulesOf(d)[0]?.loc;
        throw treeError(
          `rule ${d.name} is recursive: ${cycle.join(" -> ")}`,
          loc,
          "rego_recursion_error",
        );
      }
      if (s === undefined) {
        state.set(d, 1);
        stack.push(d);
        iters.push((deps.get(d) ?? new Set()).values());
      }
    }
  };
  for (const n of deps.keys()) if (!state.has(n)) dfs(n);
}

/** The rule nodes a rule reads: through `data` references and function calls. */
function ruleDeps(root: DataNode, rule: RuleDef, out: Set<DataNode>): void {
  const addSubtree = (n: DataNode) => {
    if (n.hasOwnRules) out.add(n);
    for (const c of n.children.values()) if (c.hasRules) addSubtree(c);
  };
  const onRef = (r: RefTerm) => {
    if (r.head.t !== "var" || r.head.name !== "data" || r.head.slot !== -1) return;
    let n = root;
    for (const p of r.path) {
      if (n.hasOwnRules) break;
      if (p.t !== "str") {
        // A constant non-string key (data[2]) cannot name a rule.
        if (constValue(p) !== undefined && !(p.t === "num" && Number.isInteger(p.value))) return;
        if (p.t === "num") {
          const c = n.children.get(String(p.value));
          if (c === undefined) return;
          n = c;
          continue;
        }
        break;
      }
      const c = n.children.get(p.value);
      if (c === undefined) return;
      n = c;
    }
    addSubtree(n);
  };
  const onCall = (c: CallTerm) => {
    if (c.target?.kind !== "function") return;
    let n: DataNode | undefined = root;
    for (const p of c.target.path) n = n?.children.get(p);
    if (n !== undefined) out.add(n);
  };
  const walkTerm = (t: Term): void => {
    switch (t.t) {
      case "ref":
        onRef(t);
        walkTerm(t.head);
        t.path.forEach(walkTerm);
        return;
      case "call":
        onCall(t);
        t.args.forEach(walkTerm);
        return;
      case "array":
      case "set":
        t.items.forEach(walkTerm);
        return;
      case "object":
        for (const [k, v] of t.entries) {
          walkTerm(k);
          walkTerm(v);
        }
        return;
      case "compr":
        walkTerm(t.head);
        if (t.value !== undefined) walkTerm(t.value);
        t.body.forEach(walkExpr);
        return;
    }
  };
  const walkExpr = (e: Expr): void => {
    for (const w of e.withs) {
      walkTerm(w.value);
      if (w.replacement?.kind === "function") {
        onCall({ t: "call", name: [], args: [], loc: w.loc, target: w.replacement });
      }
    }
    switch (e.k) {
      case "term":
        return walkTerm(e.term);
      case "callout":
        walkTerm(e.call);
        return walkTerm(e.output);
      case "unify":
      case "assign":
        walkTerm(e.lhs);
        return walkTerm(e.rhs);
      case "some":
        return;
      case "somein":
        if (e.key !== undefined) walkTerm(e.key);
        walkTerm(e.value);
        return walkTerm(e.coll);
      case "every":
        walkTerm(e.domain);
        e.body.forEach(walkExpr);
        return;
    }
  };
  rule.body.forEach(walkExpr);
  rule.suffix.forEach(walkTerm);
  if (rule.key !== undefined) walkTerm(rule.key);
  walkTerm(rule.value);
  for (const e of rule.elses) {
    e.body.forEach(walkExpr);
    walkTerm(e.value);
  }
}
