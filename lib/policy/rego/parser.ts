/**
 * The Rego parser: tokens to modules and queries, for both syntax versions.
 *
 * Grammar and operator precedence follow OPA's `ast/parser.go` (lowest first): `=`/`:=`, `in`
 * (with the `k, v in xs` form), comparisons, `|`, `&`, `+ -`, `* / %`. Comprehensions take
 * priority over `|` (`{a | b}` is a set comprehension), as in OPA.
 *
 * Syntax versions: in **v1** (OPA 1.0), `if`, `contains`, `in` and `every` are keywords, rule
 * bodies need `if` and multi-value rules need `contains`. In **v0**, those words are keywords
 * only after `import future.keywords[.<word>]` or `import rego.v1` (the latter also makes `if`
 * and `contains` mandatory), `p { ... }` is a rule with value `true` and `p[x] { ... }` a
 * partial set.
 *
 * @module
 */

import type {
  ArrayTerm,
  Body,
  CallTerm,
  ComprTerm,
  ElseClause,
  Expr,
  Import,
  Loc,
  Module,
  NumTerm,
  Rule,
  RuleHead,
  SetTerm,
  Term,
  VarTerm,
  With,
} from "./ast.ts";
import { varTerm } from "./ast.ts";
import { RegoError } from "./errors.ts";
import { type Token, tokenize } from "./lexer.ts";
import { parseNumberLiteral } from "./value.ts";

/** The Rego syntax version. */
export type RegoSyntax = "v0" | "v1";

/** Options of the parser. */
export interface ParseOptions {
  /** The syntax version (default `"v1"`). */
  readonly syntax?: RegoSyntax;
}

/** Keywords in every version. */
const BASE_KEYWORDS = new Set([
  "package",
  "import",
  "as",
  "default",
  "else",
  "not",
  "some",
  "with",
  "true",
  "false",
  "null",
]);

/** Keywords of OPA 1.0 that v0 enables through `future.keywords` / `rego.v1`. */
const FUTURE_KEYWORDS = ["in", "every", "contains", "if"] as const;

/** Nesting bound, so that `[[[[...]]]]` fails as a parse error, not as a stack overflow. */
const MAX_NESTING = 200;
/** Longest reference, package path or rule head (segments). */
const MAX_REF = 512;

/** Infix operators and the built-in each stands for (OPA `ast.Plus`, `ast.Equal`, ...). */
const INFIX: Record<string, string> = {
  "==": "equal",
  "!=": "neq",
  "<": "lt",
  ">": "gt",
  "<=": "lte",
  ">=": "gte",
  "|": "or",
  "&": "and",
  "+": "plus",
  "-": "minus",
  "*": "mul",
  "/": "div",
  "%": "rem",
};

class ParseFailure extends Error {}

class Parser {
  readonly #tokens: Token[];
  readonly #source: string;
  readonly #file: string;
  #pos = 0;
  readonly #keywords = new Set(BASE_KEYWORDS);
  /** `if` before bodies and `contains` for multi-value rules are mandatory. */
  #strict: boolean;
  readonly #memo = new Map<string, { term: Term; end: number } | { error: RegoError }>();
  #importedRegoV1 = false;
  #importedFuture = false;
  /** Whether a newline ends the current literal (true inside bodies, false inside brackets). */
  readonly #nl: boolean[] = [true];
  #depth = 0;

  constructor(source: string, file: string, syntax: RegoSyntax) {
    this.#source = source;
    this.#file = file;
    this.#tokens = tokenize(source, file);
    this.#strict = syntax === "v1";
    // v0 modules may use the OPA 1.0 keywords without importing future.keywords (as regorus
    // allows); only v1 and `import rego.v1` make `if` and `contains` mandatory.
    for (const k of FUTURE_KEYWORDS) this.#keywords.add(k);
  }

  // ---- token helpers ----

  #peek(ahead = 0): Token {
    return this.#tokens[Math.min(this.#pos + ahead, this.#tokens.length - 1)] as Token;
  }

  #next(): Token {
    const t = this.#peek();
    if (this.#pos < this.#tokens.length - 1) this.#pos++;
    return t;
  }

  #loc(t: Token = this.#peek()): Loc {
    return { file: this.#file, row: t.row, col: t.col };
  }

  #fail(message: string, t: Token = this.#peek()): never {
    throw new RegoError("rego_parse_error", message, { location: this.#loc(t) });
  }

  #isOp(text: string, t: Token = this.#peek()): boolean {
    return t.kind === "op" && t.text === text;
  }

  #isKeyword(word: string, t: Token = this.#peek()): boolean {
    return t.kind === "ident" && t.text === word && this.#keywords.has(word);
  }

  #expectOp(text: string): Token {
    const t = this.#peek();
    if (!this.#isOp(text, t)) this.#unexpected(t, `expected ${text}`);
    return this.#next();
  }

  #unexpected(t: Token, hint?: string): never {
    const what = t.kind === "eof"
      ? "unexpected eof token"
      : t.kind === "ident" && this.#keywords.has(t.text)
      ? `unexpected ${t.text} keyword`
      : `unexpected ${t.text} token`;
    this.#fail(hint === undefined ? what : `${what}: ${hint}`, t);
  }

  /** Whether the current token may continue an expression (a newline in a body ends it). */
  #continues(t: Token = this.#peek()): boolean {
    return !(t.nl && this.#nl[this.#nl.length - 1] === true);
  }

  #endOffset(): number {
    const t = this.#tokens[this.#pos - 1];
    return t === undefined ? 0 : t.offset + t.text.length;
  }

  #text(start: Token): string {
    return this.#source.slice(start.offset, this.#endOffset());
  }

  #nest<T>(nl: boolean, f: () => T): T {
    if (++this.#depth > MAX_NESTING) this.#fail(`nesting deeper than ${MAX_NESTING} levels`);
    this.#nl.push(nl);
    try {
      return f();
    } finally {
      this.#nl.pop();
      this.#depth--;
    }
  }

  /** Try a parse; on failure rewind and return undefined. */
  #attempt<T>(f: () => T, onError?: (e: unknown) => void): T | undefined {
    const pos = this.#pos;
    const depth = this.#depth;
    const nl = this.#nl.length;
    try {
      return f();
    } catch (e) {
      if (!(e instanceof RegoError) && !(e instanceof ParseFailure)) throw e;
      if (e instanceof RegoError) onError?.(e);
      this.#pos = pos;
      this.#depth = depth;
      this.#nl.length = nl;
      return undefined;
    }
  }

  // ---- modules ----

  parseModule(): Module {
    const first = this.#peek();
    if (!(first.kind === "ident" && first.text === "package")) {
      this.#fail("package expected", first);
    }
    this.#next();
    const pkg = this.#parsePathNames("package");
    const imports: Import[] = [];
    while (this.#isKeyword("import")) imports.push(this.#parseImport());
    const rules: Rule[] = [];
    while (this.#peek().kind !== "eof") {
      if (this.#isKeyword("import")) this.#fail("imports must appear before rules");
      if (this.#isKeyword("package")) {
        this.#fail("unexpected package keyword: one package per module");
      }
      rules.push(...this.#parseRule());
    }
    return { file: this.#file, pkg, pkgLoc: this.#loc(first), imports, rules, v1: this.#strict };
  }

  /** `a.b["c"]` as names (package paths). */
  #parsePathNames(what: string): string[] {
    const t = this.#next();
    if (t.kind !== "ident") this.#fail(`${what} path expected`, t);
    const names = [t.text];
    while (true) {
      if (names.length > MAX_REF) this.#fail(`${what} path longer than ${MAX_REF} segments`);
      const d = this.#peek();
      if (this.#isOp(".", d) && !d.ws) {
        this.#next();
        const n = this.#next();
        if (n.kind !== "ident" || n.ws) this.#fail(`invalid ${what} path`, n);
        names.push(n.text);
      } else if (this.#isOp("[", d) && !d.ws) {
        this.#next();
        const s = this.#next();
        if (s.kind !== "string" && s.kind !== "rawstring") this.#fail(`invalid ${what} path`, s);
        names.push(s.value);
        this.#expectOp("]");
      } else break;
    }
    return names;
  }

  #parseImport(): Import {
    const start = this.#next();
    const loc = this.#loc(start);
    const head = this.#peek();
    const names = this.#parsePathNames("import");
    const root = names[0];
    if (root === "future") {
      if (names[1] !== "keywords" || names.length > 3) {
        this.#fail(`invalid import ${names.join(".")}`, head);
      }
      if (this.#importedRegoV1) {
        this.#fail(
          "the `rego.v1` import implies `future.keywords`, these are therefore mutually exclusive",
          head,
        );
      }
      this.#importedFuture = true;
      const word = names[2];
      if (word === undefined) { for (const k of FUTURE_KEYWORDS) this.#keywords.add(k); }
      else if ((FUTURE_KEYWORDS as readonly string[]).includes(word)) this.#keywords.add(word);
      else this.#fail(`unexpected keyword, must be one of [contains every if in]`, head);
    } else if (root === "rego") {
      if (names.length !== 2 || names[1] !== "v1") {
        this.#fail(`invalid import ${names.join(".")}, must be rego.v1`, head);
      }
      if (this.#importedRegoV1 || this.#importedFuture) {
        this.#fail(
          "the `rego.v1` import implies `future.keywords`, these are therefore mutually exclusive",
          head,
        );
      }
      this.#importedRegoV1 = true;
      for (const k of FUTURE_KEYWORDS) this.#keywords.add(k);
      this.#strict = true;
    } else if (root !== "data" && root !== "input") {
      this.#fail(
        `invalid import ${names.join(".")}: path must begin with input, data, future or rego`,
        head,
      );
    }
    let alias: string | undefined;
    if (this.#isKeyword("as")) {
      this.#next();
      const a = this.#next();
      if (a.kind !== "ident" || this.#keywords.has(a.text)) this.#fail("alias expected", a);
      alias = a.text;
      if (root === "future" || root === "rego") {
        this.#fail("future and rego imports cannot be aliased", a);
      }
    }
    const path: Term = names.length === 1 ? varTerm(names[0] as string, this.#loc(head)) : {
      t: "ref",
      head: varTerm(names[0] as string, this.#loc(head)),
      path: names.slice(1).map((n) => ({ t: "str", value: n, loc: this.#loc(head) })),
      loc: this.#loc(head),
    };
    return alias === undefined ? { path, loc } : { path, alias, loc };
  }

  #parseRule(): Rule[] {
    const start = this.#peek();
    let isDefault = false;
    if (this.#isKeyword("default")) {
      this.#next();
      isDefault = true;
    }
    const nameTok = this.#peek();
    if (nameTok.kind !== "ident" || this.#keywords.has(nameTok.text)) this.#unexpected(nameTok);
    this.#next();
    const ref: Term[] = [varTerm(nameTok.text, this.#loc(nameTok))];
    let lastBracket = false;
    this.#nest(false, () => {
      while (true) {
        if (ref.length > MAX_REF) this.#fail(`rule head longer than ${MAX_REF} segments`);
        const d = this.#peek();
        if (this.#isOp(".", d) && !d.ws) {
          this.#next();
          const n = this.#next();
          if (n.kind !== "ident" || n.ws) this.#fail("invalid rule head reference", n);
          ref.push({ t: "str", value: n.text, loc: this.#loc(n) });
          lastBracket = false;
        } else if (this.#isOp("[", d) && !d.ws) {
          this.#next();
          ref.push(this.#parseIn(false));
          this.#expectOp("]");
          lastBracket = true;
        } else break;
      }
    });
    const headLoc = this.#loc(nameTok);
    let args: Term[] | undefined;
    if (this.#isOp("(")) {
      args = this.#nest(false, () => this.#parseList("(", ")"));
    }
    let key: Term | undefined;
    if (this.#isKeyword("contains")) {
      if (args !== undefined) this.#fail("functions cannot use contains");
      this.#next();
      key = this.#nest(false, () => this.#parseIn(false));
    }
    let value: Term | undefined;
    if ((this.#isOp(":=") || this.#isOp("=")) && key === undefined) {
      this.#next();
      value = this.#nest(false, () => this.#parseIn(false));
    }
    if (isDefault) {
      if (value === undefined) this.#fail("default rules must have a value assigned", start);
      if (key !== undefined) this.#fail("default rules cannot be multi-value rules", start);
    }
    const bodies: Body[] = [];
    let hasBody = false;
    if (!isDefault) {
      const b = this.#parseRuleBody();
      if (b !== undefined) {
        bodies.push(b);
        hasBody = true;
      }
    }
    if (!hasBody) {
      // v0 allows a bare `p["s"]`: a partial set holding "s".
      const bareSet = !this.#strict && lastBracket && args === undefined;
      if (value === undefined && key === undefined && !isDefault && !bareSet) {
        this.#fail("rule must have a body or an assigned value", nameTok);
      }
      bodies.push([this.#trueExpr(headLoc)]);
    }
    const elses: ElseClause[] = [];
    while (hasBody && this.#isKeyword("else")) {
      if (key !== undefined) this.#fail("else keyword cannot be used on multi-value rules");
      const e = this.#next();
      let ev: Term | undefined;
      if (this.#isOp(":=") || this.#isOp("=")) {
        this.#next();
        ev = this.#nest(false, () => this.#parseIn(false));
      }
      const body = this.#parseRuleBody() ?? [this.#trueExpr(this.#loc(e))];
      elses.push(
        ev === undefined ? { body, loc: this.#loc(e) } : { value: ev, body, loc: this.#loc(e) },
      );
    }
    // v0: further bodies right after the first one define the same rule again.
    while (hasBody && !this.#strict && this.#isOp("{") && !this.#peek().nl) {
      const b = this.#parseBraceBody();
      bodies.push(b);
    }
    // v0 `p[x] { ... }` (and `p.x { ... }`) without a value is a partial set; v1 reads it as
    // `p[x] := true`.
    if (
      !this.#strict && key === undefined && value === undefined && args === undefined &&
      !isDefault && (lastBracket || ref.length === 2)
    ) {
      const last = ref.pop() as Term;
      key = last;
    }
    const text = this.#text(start);
    const head: RuleHead = {
      ref,
      loc: headLoc,
      ...(args === undefined ? {} : { args }),
      ...(key === undefined ? {} : { key }),
      ...(value === undefined ? {} : { value }),
    };
    return bodies.map((body, i) => ({
      isDefault,
      head,
      body,
      elses: i === 0 ? elses : [],
      loc: this.#loc(start),
      text,
    }));
  }

  /** `if { ... }`, `if literal`, or (v0) `{ ... }`; undefined when the rule has no body. */
  #parseRuleBody(): Body | undefined {
    if (this.#isKeyword("if")) {
      this.#next();
      if (this.#isOp("{")) {
        // `p if { x | body }` is a comprehension term as the body, as regorus and OPA read it.
        const start = this.#peek();
        const compr = this.#attempt(() => {
          const t = this.#nest(true, () => this.#parseTerm());
          const n = this.#peek();
          if (t.t !== "compr" || !(n.nl || n.kind === "eof" || this.#isKeyword("else", n))) {
            throw new ParseFailure();
          }
          return t;
        });
        if (compr !== undefined) {
          const loc = this.#loc(start);
          return [{
            k: "term",
            term: compr,
            negated: false,
            withs: [],
            loc,
            text: this.#text(start),
          }];
        }
        const saved = this.#attempt(() => this.#parseBraceBody());
        if (saved !== undefined) return saved;
      }
      return this.#nest(true, () => {
        const lit = this.#parseLiteral();
        return [lit];
      });
    }
    if (this.#isOp("{")) {
      if (this.#strict) this.#fail("`if` keyword is required before rule body");
      return this.#parseBraceBody();
    }
    return undefined;
  }

  #trueExpr(loc: Loc): Expr {
    return {
      k: "term",
      term: { t: "bool", value: true, loc },
      negated: false,
      withs: [],
      loc,
      text: "true",
    };
  }

  #parseBraceBody(): Body {
    const open = this.#expectOp("{");
    return this.#nest(true, () => {
      const body = this.#parseLiterals("}");
      if (body.length === 0) this.#fail("found empty body", open);
      this.#expectOp("}");
      return body;
    });
  }

  /** Literals separated by `;` or newlines, up to (not including) `end` or eof. */
  #parseLiterals(end: string | undefined): Body {
    const body: Body = [];
    while (true) {
      while (this.#isOp(";")) this.#next();
      const t = this.#peek();
      if (t.kind === "eof" || (end !== undefined && this.#isOp(end, t))) break;
      if (body.length > 0 && !t.nl && !this.#isOp(";", this.#tokens[this.#pos - 1])) {
        this.#unexpected(t);
      }
      body.push(this.#parseLiteral());
    }
    return body;
  }

  // ---- literals ----

  #parseLiteral(): Expr {
    const start = this.#peek();
    const loc = this.#loc(start);
    let expr: Expr;
    if (this.#isKeyword("some")) expr = this.#parseSome();
    else if (this.#isKeyword("every")) expr = this.#parseEvery();
    else {
      let negated = false;
      if (this.#isKeyword("not")) {
        this.#next();
        negated = true;
      }
      expr = this.#parseExpr();
      expr.negated = negated;
    }
    while (this.#isKeyword("with")) {
      const w = this.#next();
      const target = this.#nest(false, () => this.#parseTerm());
      if (!this.#isKeyword("as")) this.#unexpected(this.#peek(), "expected as");
      this.#next();
      const value = this.#nest(false, () => this.#parseIn(false));
      expr.withs.push({ target, value, loc: this.#loc(w) } satisfies With);
    }
    return { ...expr, loc, text: this.#text(start) } as Expr;
  }

  #parseSome(): Expr {
    const start = this.#next();
    const loc = this.#loc(start);
    const terms: Term[] = [];
    terms.push(this.#parseRelation());
    while (this.#isOp(",")) {
      this.#next();
      terms.push(this.#parseRelation());
    }
    if (this.#isKeyword("in")) {
      this.#next();
      if (terms.length > 2) this.#fail("unexpected in keyword: at most two variables", start);
      const coll = this.#parseRelation();
      const [a, b] = terms as [Term, Term | undefined];
      return {
        k: "somein",
        key: b === undefined ? undefined : a,
        value: b ?? a,
        coll,
        negated: false,
        withs: [],
        loc,
        text: "",
      };
    }
    const vars: VarTerm[] = [];
    for (const t of terms) {
      if (t.t !== "var") this.#fail("expected var in some declaration", start);
      vars.push(t);
    }
    return { k: "some", vars, negated: false, withs: [], loc, text: "" };
  }

  #parseEvery(): Expr {
    const start = this.#next();
    const loc = this.#loc(start);
    const first = this.#parseTerm();
    let key: Term | undefined;
    let value = first;
    if (this.#isOp(",")) {
      this.#next();
      key = first;
      value = this.#parseTerm();
    }
    if (key !== undefined && key.t !== "var") this.#fail("unexpected term: expected var", start);
    if (value.t !== "var") this.#fail("unexpected term: expected var", start);
    if (!this.#isKeyword("in")) this.#unexpected(this.#peek(), "expected in");
    this.#next();
    const domain = this.#parseRelation();
    const body = this.#parseBraceBody();
    return { k: "every", key, value, domain, body, negated: false, withs: [], loc, text: "" };
  }

  #parseExpr(): Expr {
    const start = this.#peek();
    const loc = this.#loc(start);
    const lhs = this.#parseIn(true);
    const t = this.#peek();
    if ((this.#isOp(":=", t) || this.#isOp("=", t)) && this.#continues(t)) {
      this.#next();
      const rhs = this.#parseIn(true);
      return {
        k: this.#isOp(":=", t) ? "assign" : "unify",
        lhs,
        rhs,
        negated: false,
        withs: [],
        loc,
        text: "",
      };
    }
    return { k: "term", term: lhs, negated: false, withs: [], loc, text: "" };
  }

  // ---- terms ----

  #call(name: string, args: Term[], loc: Loc, op?: string): CallTerm {
    return op === undefined ? { t: "call", name: name.split("."), args, loc } : {
      t: "call",
      name: name.split("."),
      args,
      loc,
      op,
    };
  }

  /** `x in xs`, `k, v in xs` (when `keyVal`), left-associative. */
  #parseIn(keyVal: boolean): Term {
    let lhs = this.#parseRelation();
    while (this.#keywords.has("in")) {
      if (keyVal && this.#isOp(",")) {
        const save = this.#pos;
        this.#next();
        const mhs = this.#attempt(() => this.#parseRelation());
        if (mhs !== undefined && this.#isKeyword("in") && this.#continues()) {
          this.#next();
          const rhs = this.#parseRelation();
          lhs = this.#call("internal.member_3", [lhs, mhs, rhs], lhs.loc);
          continue;
        }
        this.#pos = save;
      }
      if (this.#isKeyword("in") && this.#continues()) {
        this.#next();
        const rhs = this.#parseRelation();
        lhs = this.#call("internal.member_2", [lhs, rhs], lhs.loc);
        continue;
      }
      break;
    }
    return lhs;
  }

  #parseBinary(ops: readonly string[], operand: () => Term): Term {
    let lhs = operand();
    while (true) {
      const t = this.#peek();
      if (t.kind !== "op" || !ops.includes(t.text) || !this.#continues(t)) return lhs;
      this.#next();
      const rhs = operand();
      lhs = this.#call(INFIX[t.text] as string, [lhs, rhs], lhs.loc, t.text);
    }
  }

  #parseRelation(): Term {
    return this.#parseBinary(["==", "!=", "<", ">", "<=", ">="], () => this.#parseOr());
  }

  #parseOr(): Term {
    return this.#parseBinary(["|"], () => this.#parseAnd());
  }

  #parseAnd(): Term {
    return this.#parseBinary(["&"], () => this.#parseArith());
  }

  #parseArith(): Term {
    return this.#parseBinary(["+", "-"], () => this.#parseFactor());
  }

  #parseFactor(): Term {
    return this.#parseBinary(["*", "/", "%"], () => this.#parseTerm());
  }

  /** A primary term with its reference and call suffixes. */
  #parseTerm(): Term {
    // Comprehension detection re-parses a bracket's first term after a failed attempt; the memo
    // keeps that linear (`[[[[...]]]]` would otherwise cost 2^depth).
    const key = `${this.#pos}:${this.#nl[this.#nl.length - 1]}:${this.#depth}`;
    const memo = this.#memo.get(key);
    if (memo !== undefined) {
      if ("error" in memo) throw memo.error;
      this.#pos = memo.end;
      return memo.term;
    }
    if (++this.#depth > MAX_NESTING) this.#fail(`nesting deeper than ${MAX_NESTING} levels`);
    try {
      const term = this.#parseSuffixes(this.#parsePrimary());
      this.#memo.set(key, { term, end: this.#pos });
      return term;
    } catch (e) {
      if (e instanceof RegoError) this.#memo.set(key, { error: e });
      throw e;
    } finally {
      this.#depth--;
    }
  }

  #parsePrimary(): Term {
    const t = this.#peek();
    const loc = this.#loc(t);
    switch (t.kind) {
      case "number": {
        this.#next();
        return this.#number(t.text, loc, t);
      }
      case "string":
      case "rawstring":
        this.#next();
        return { t: "str", value: t.value, loc };
      case "ident": {
        if (t.text === "true" || t.text === "false") {
          this.#next();
          return { t: "bool", value: t.text === "true", loc };
        }
        if (t.text === "null") {
          this.#next();
          return { t: "null", loc };
        }
        // `contains` is also a built-in: `contains(s, "x")` is a call, not the keyword.
        const callable = t.text === "contains" && this.#isOp("(", this.#peek(1)) &&
          !this.#peek(1).ws;
        if (this.#keywords.has(t.text) && !callable) this.#unexpected(t);
        this.#next();
        if (t.text === "set" && this.#isOp("(") && this.#isOp(")", this.#peek(1))) {
          this.#next();
          this.#next();
          return { t: "set", items: [], loc } satisfies SetTerm;
        }
        return varTerm(t.text, loc);
      }
      case "op":
        switch (t.text) {
          case "-": {
            this.#next();
            const n = this.#peek();
            if (n.kind !== "number") {
              this.#fail("unary - can only be used with numeric literals", t);
            }
            this.#next();
            return this.#number("-" + n.text, loc, n);
          }
          case "[":
            return this.#parseArray();
          case "{":
            return this.#parseBrace();
          case "(": {
            this.#next();
            const inner = this.#nest(false, () => this.#parseIn(true));
            this.#expectOp(")");
            return inner;
          }
        }
    }
    this.#unexpected(t);
  }

  #number(text: string, loc: Loc, t: Token): NumTerm {
    const value = parseNumberLiteral(text);
    if (value === undefined) this.#fail(`invalid number ${text}`, t);
    return { t: "num", value, text, loc };
  }

  #parseSuffixes(term: Term): Term {
    let cur = term;
    while (true) {
      const t = this.#peek();
      if (this.#isOp(".", t) && !t.ws) {
        this.#next();
        const n = this.#peek();
        if (n.kind !== "ident") this.#unexpected(n, "expected identifier after .");
        if (n.ws) this.#fail("invalid whitespace between . and identifier", n);
        this.#next();
        cur = this.#extend(cur, { t: "str", value: n.text, loc: this.#loc(n) });
      } else if (this.#isOp("[", t) && !t.ws) {
        this.#next();
        const index = this.#nest(false, () => this.#parseIn(false));
        this.#expectOp("]");
        cur = this.#extend(cur, index);
      } else if (this.#isOp("(", t) && !t.ws && this.#callName(cur) !== undefined) {
        const name = this.#callName(cur) as string[];
        const args = this.#nest(false, () => this.#parseList("(", ")"));
        cur = { t: "call", name, args, loc: cur.loc };
      } else return cur;
    }
  }

  #extend(base: Term, segment: Term): Term {
    if (base.t === "ref" && base.path.length >= MAX_REF) {
      this.#fail(`reference longer than ${MAX_REF} segments`);
    }
    if (base.t === "ref") return { ...base, path: [...base.path, segment] };
    return { t: "ref", head: base, path: [segment], loc: base.loc };
  }

  /** The dotted name of a term usable as a function name (`f`, `a.b.c`). */
  #callName(t: Term): string[] | undefined {
    if (t.t === "var") return [t.name];
    if (t.t !== "ref" || t.head.t !== "var") return undefined;
    const names = [t.head.name];
    for (const p of t.path) {
      if (p.t !== "str") return undefined;
      names.push(p.value);
    }
    return names;
  }

  /** `open term, term, ... close` (a trailing comma is allowed). */
  #parseList(open: string, close: string): Term[] {
    this.#expectOp(open);
    const items: Term[] = [];
    while (!this.#isOp(close)) {
      items.push(this.#parseIn(false));
      if (this.#isOp(",")) this.#next();
      else if (!this.#isOp(close)) this.#unexpected(this.#peek(), `expected , or ${close}`);
    }
    this.#next();
    return items;
  }

  #parseComprBody(close: string): Body {
    return this.#nest(true, () => {
      const body = this.#parseLiterals(close);
      if (body.length === 0) this.#fail("found empty body");
      return body;
    });
  }

  #parseArray(): Term {
    const open = this.#peek();
    const loc = this.#loc(open);
    return this.#nest(false, () => {
      const start = this.#pos;
      const head = this.#attempt(() => {
        this.#next();
        if (this.#isOp("]")) throw new ParseFailure();
        const h = this.#parseTerm();
        if (!this.#isOp("|")) throw new ParseFailure();
        this.#next();
        return h;
      });
      let comprError: unknown;
      if (head !== undefined) {
        const compr = this.#attempt(() => {
          const body = this.#parseComprBody("]");
          this.#expectOp("]");
          return { t: "compr", kind: "array", head, body, loc } satisfies ComprTerm;
        }, (e) => comprError = e);
        if (compr !== undefined) return compr;
        // As OPA does: `[x | y, 5]` is an array after all (`|` is set union).
        this.#pos = start;
      }
      const items = this.#listOr(() => this.#parseList("[", "]"), comprError);
      return { t: "array", items, loc } satisfies ArrayTerm;
    });
  }

  /** Parse a list; when that fails too, report the comprehension's error instead. */
  #listOr<T>(f: () => T, comprError: unknown): T {
    if (comprError === undefined) return f();
    const r = this.#attempt(f);
    if (r === undefined) throw comprError;
    return r;
  }

  #parseBrace(): Term {
    const open = this.#peek();
    const loc = this.#loc(open);
    return this.#nest(false, () => {
      const start = this.#pos;
      const compr = this.#attempt((): { head: Term; value?: Term } => {
        this.#next();
        const h = this.#parseTerm();
        if (this.#isOp("|")) {
          this.#next();
          return { head: h };
        }
        if (!this.#isOp(":")) throw new ParseFailure();
        this.#next();
        const v = this.#parseTerm();
        if (!this.#isOp("|")) throw new ParseFailure();
        this.#next();
        return { head: h, value: v };
      });
      let comprError: unknown;
      if (compr !== undefined) {
        const done = this.#attempt((): ComprTerm => {
          const body = this.#parseComprBody("}");
          this.#expectOp("}");
          return compr.value === undefined
            ? { t: "compr", kind: "set", head: compr.head, body, loc }
            : { t: "compr", kind: "object", head: compr.head, value: compr.value, body, loc };
        }, (e) => comprError = e);
        if (done !== undefined) return done;
        this.#pos = start;
      }
      return this.#listOr(() => this.#parseBraceItems(loc), comprError);
    });
  }

  #parseBraceItems(loc: Loc): Term {
    {
      this.#expectOp("{");
      if (this.#isOp("}")) {
        this.#next();
        return { t: "object", entries: [], loc };
      }
      const first = this.#parseIn(false);
      if (this.#isOp(":")) {
        const entries: [Term, Term][] = [];
        let k = first;
        while (true) {
          this.#expectOp(":");
          entries.push([k, this.#parseIn(false)]);
          if (this.#isOp(",")) {
            this.#next();
            if (this.#isOp("}")) break;
            k = this.#parseIn(false);
          } else break;
        }
        this.#expectOp("}");
        return { t: "object", entries, loc };
      }
      const items = [first];
      while (this.#isOp(",")) {
        this.#next();
        if (this.#isOp("}")) break;
        items.push(this.#parseIn(false));
      }
      this.#expectOp("}");
      return { t: "set", items, loc };
    }
  }

  parseQuery(): Body {
    const body = this.#parseLiterals(undefined);
    const t = this.#peek();
    if (t.kind !== "eof") this.#unexpected(t);
    if (body.length === 0) this.#fail("empty query", t);
    return body;
  }
}

/** Parse one module. Throws a `RegoError` (`rego_parse_error`) on bad syntax. */
export function parseModule(source: string, file: string, options: ParseOptions = {}): Module {
  return new Parser(source, file, options.syntax ?? "v1").parseModule();
}

/** Parse a query: literals separated by `;` or newlines. */
export function parseQuery(source: string, file = "query", options: ParseOptions = {}): Body {
  return new Parser(source, file, options.syntax ?? "v1").parseQuery();
}
