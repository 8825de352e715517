/**
 * The Rego syntax tree: terms, expressions (OPA calls them literals), rules and modules, as the
 * parser builds them and the compiler annotates them (variable slots, resolved call targets,
 * constant values).
 *
 * @module
 */

import type { SourceLocation } from "./errors.ts";
import type { RegoNumber, Value } from "./value.ts";

/** A source position. */
export type Loc = SourceLocation;

interface TermBase {
  readonly loc: Loc;
  /** Set by the compiler on ground terms: the value, computed once. */
  cv?: Value;
}

/** `null`. */
export interface NullTerm extends TermBase {
  readonly t: "null";
}

/** `true` / `false`. */
export interface BoolTerm extends TermBase {
  readonly t: "bool";
  readonly value: boolean;
}

/** A number literal. */
export interface NumTerm extends TermBase {
  readonly t: "num";
  readonly value: RegoNumber;
  readonly text: string;
}

/** A string literal (quoted or raw). */
export interface StrTerm extends TermBase {
  readonly t: "str";
  readonly value: string;
}

/** A variable. The compiler sets `slot` (its index in the rule's frame) or turns it into a ref. */
export interface VarTerm extends TermBase {
  readonly t: "var";
  readonly name: string;
  /** Frame slot, -1 until compiled. */
  slot: number;
}

/** A reference: a head term followed by `.name` and `[term]` selections. */
export interface RefTerm extends TermBase {
  readonly t: "ref";
  head: Term;
  path: Term[];
}

/** `[a, b]`. */
export interface ArrayTerm extends TermBase {
  readonly t: "array";
  readonly items: Term[];
}

/** `{a, b}` / `set()`. */
export interface SetTerm extends TermBase {
  readonly t: "set";
  readonly items: Term[];
}

/** `{k: v}`. */
export interface ObjectTerm extends TermBase {
  readonly t: "object";
  readonly entries: [Term, Term][];
}

/** `[t | body]`, `{t | body}`, `{k: v | body}`. */
export interface ComprTerm extends TermBase {
  readonly t: "compr";
  readonly kind: "array" | "set" | "object";
  readonly head: Term;
  /** The value term of an object comprehension. */
  readonly value?: Term;
  readonly body: Body;
  /** Set by the compiler: slots of enclosing scopes the comprehension reads. */
  free?: number[];
}

/** Where a call goes, once resolved by the compiler. */
export type CallTarget =
  | { readonly kind: "builtin"; readonly name: string }
  | { readonly kind: "function"; readonly path: readonly string[] };

/** A call `f(x)`, including operators (`plus`, `equal`, `internal.member_2`, ...). */
export interface CallTerm extends TermBase {
  readonly t: "call";
  /** The name as written: `["count"]`, `["array", "concat"]`, `["data", "lib", "f"]`. */
  name: string[];
  readonly args: Term[];
  /** The operator spelling (`+`, `==`) when the call is an infix operator. */
  readonly op?: string;
  /** Set by the compiler. */
  target?: CallTarget;
}

/** Any term. */
export type Term =
  | NullTerm
  | BoolTerm
  | NumTerm
  | StrTerm
  | VarTerm
  | RefTerm
  | ArrayTerm
  | SetTerm
  | ObjectTerm
  | ComprTerm
  | CallTerm;

/** What a `with` modifier replaces, once resolved by the compiler. */
export type WithTarget =
  | { readonly kind: "input"; readonly path: readonly string[] }
  | { readonly kind: "data"; readonly path: readonly string[] }
  | { readonly kind: "function"; readonly target: CallTarget };

/** `with target as value`. */
export interface With {
  target: Term;
  value: Term;
  readonly loc: Loc;
  /** Set by the compiler. */
  resolved?: WithTarget;
  /** Set by the compiler when the replacement names a function (`with f as g`). */
  replacement?: CallTarget;
}

interface ExprBase {
  negated: boolean;
  readonly withs: With[];
  readonly loc: Loc;
  /** The source text of the expression. */
  readonly text: string;
}

/** A term expression: defined and not `false`. */
export interface TermExpr extends ExprBase {
  readonly k: "term";
  term: Term;
}

/** A call whose last argument receives the result: `count(xs, n)` (set by the compiler). */
export interface CallOutExpr extends ExprBase {
  readonly k: "callout";
  readonly call: CallTerm;
  readonly output: Term;
}

/** `a = b`. */
export interface UnifyExpr extends ExprBase {
  readonly k: "unify";
  readonly lhs: Term;
  readonly rhs: Term;
}

/** `a := b`. */
export interface AssignExpr extends ExprBase {
  readonly k: "assign";
  readonly lhs: Term;
  readonly rhs: Term;
}

/** `some x, y`. */
export interface SomeExpr extends ExprBase {
  readonly k: "some";
  readonly vars: VarTerm[];
}

/** `some x in xs`, `some k, v in xs`. */
export interface SomeInExpr extends ExprBase {
  readonly k: "somein";
  readonly key: Term | undefined;
  readonly value: Term;
  readonly coll: Term;
}

/** `every x in xs { ... }`, `every k, v in xs { ... }`. */
export interface EveryExpr extends ExprBase {
  readonly k: "every";
  readonly key: Term | undefined;
  readonly value: Term;
  readonly domain: Term;
  readonly body: Body;
  /** Set by the compiler: slots of enclosing scopes the body reads. */
  free?: number[];
}

/** One expression of a body. */
export type Expr =
  | TermExpr
  | CallOutExpr
  | UnifyExpr
  | AssignExpr
  | SomeExpr
  | SomeInExpr
  | EveryExpr;

/** A conjunction of expressions. */
export type Body = Expr[];

/** A rule head. */
export interface RuleHead {
  /** The head reference: a var, then `.name` strings and `[term]` selections. */
  readonly ref: Term[];
  /** Function parameters. */
  readonly args?: Term[];
  /** The element of a multi-value (`contains`, or v0 `p[x]`) rule. */
  readonly key?: Term;
  /** The value (absent: `true`). */
  readonly value?: Term;
  readonly loc: Loc;
}

/** `else [= value] [if] { body }`. */
export interface ElseClause {
  readonly value?: Term;
  readonly body: Body;
  readonly loc: Loc;
}

/** A rule. */
export interface Rule {
  readonly isDefault: boolean;
  readonly head: RuleHead;
  readonly body: Body;
  readonly elses: ElseClause[];
  readonly loc: Loc;
  /** The rule's source text (for error messages). */
  readonly text: string;
}

/** `import path [as alias]`. */
export interface Import {
  readonly path: Term;
  readonly alias?: string;
  readonly loc: Loc;
}

/** A parsed module. */
export interface Module {
  readonly file: string;
  readonly pkg: string[];
  readonly pkgLoc: Loc;
  readonly imports: Import[];
  readonly rules: Rule[];
  /** v1 rules apply (syntax v1, or `import rego.v1`): reserved names cannot be redefined. */
  readonly v1: boolean;
}

/** A string term. */
export function strTerm(value: string, loc: Loc): StrTerm {
  return { t: "str", value, loc };
}

/** A fresh variable term. */
export function varTerm(name: string, loc: Loc): VarTerm {
  return { t: "var", name, slot: -1, loc };
}
