/**
 * Regular expressions with Go's RE2 syntax, matched in linear time.
 *
 * OPA's regex built-ins use Go's `regexp`, which guarantees time linear in the input: no
 * backtracking, so `(a+)+$` on `aaaa...b` cannot explode. JavaScript's `RegExp` backtracks and
 * cannot be interrupted, so instead of translating patterns this module parses RE2 syntax itself
 * (`regexp/syntax`: Perl classes, POSIX classes, `\pN` Unicode classes, flags `imsU`, named
 * groups, bounded repeats up to 1000) and runs a Pike VM: all threads advance together over the
 * input, one step per code point, so a match costs at most O(input x program). Constructs RE2
 * rejects are rejected with Go's error text (backreferences `\1`, lookaround `(?=`, `(?<=`,
 * possessive `*+`). Bounds: patterns up to {@link MAX_PATTERN} characters and
 * {@link MAX_PROGRAM} instructions; the matcher calls a deadline check every few thousand
 * thread steps, so the evaluation's wall-clock limit also bounds regex work.
 *
 * Matching is leftmost-first (Perl/Go semantics). Positions are UTF-16 indices; the VM steps
 * by code point.
 *
 * @module
 */

/** Longest pattern accepted. */
export const MAX_PATTERN = 16_384;
/** Largest compiled program (RE2 rejects programs of this order as "expression too large"). */
export const MAX_PROGRAM = 200_000;
const MAX_REPEAT = 1000;

/** A pattern RE2 would not compile; `message` is Go's text. */
export class RegexSyntaxError extends Error {}

type Test = (cp: number) => boolean;

type Node =
  | { readonly k: "empty" }
  | { readonly k: "char"; readonly test: Test }
  | { readonly k: "assert"; readonly a: Assertion }
  | { readonly k: "cat"; readonly subs: Node[] }
  | { readonly k: "alt"; readonly subs: Node[] }
  | {
    readonly k: "rep";
    readonly sub: Node;
    readonly min: number;
    readonly max: number;
    readonly greedy: boolean;
  }
  | { readonly k: "group"; readonly sub: Node; readonly index: number };

type Assertion = "bol" | "eol" | "bot" | "eot" | "bol_m" | "eol_m" | "wordb" | "nwordb";

interface Flags {
  i: boolean;
  m: boolean;
  s: boolean;
  U: boolean;
}

const isWordCp = (c: number) =>
  (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;

function ranges(...pairs: number[]): Test {
  return (c) => {
    for (let i = 0; i < pairs.length; i += 2) {
      if (c >= (pairs[i] as number) && c <= (pairs[i + 1] as number)) return true;
    }
    return false;
  };
}

const PERL: Record<string, Test> = {
  d: ranges(0x30, 0x39),
  s: ranges(0x09, 0x0a, 0x0c, 0x0d, 0x20, 0x20),
  w: ranges(0x30, 0x39, 0x41, 0x5a, 0x61, 0x7a, 0x5f, 0x5f),
};

const POSIX: Record<string, Test> = {
  alnum: ranges(0x30, 0x39, 0x41, 0x5a, 0x61, 0x7a),
  alpha: ranges(0x41, 0x5a, 0x61, 0x7a),
  ascii: ranges(0x00, 0x7f),
  blank: ranges(0x09, 0x09, 0x20, 0x20),
  cntrl: ranges(0x00, 0x1f, 0x7f, 0x7f),
  digit: ranges(0x30, 0x39),
  graph: ranges(0x21, 0x7e),
  lower: ranges(0x61, 0x7a),
  print: ranges(0x20, 0x7e),
  punct: ranges(0x21, 0x2f, 0x3a, 0x40, 0x5b, 0x60, 0x7b, 0x7e),
  space: ranges(0x09, 0x0d, 0x20, 0x20),
  upper: ranges(0x41, 0x5a),
  word: ranges(0x30, 0x39, 0x41, 0x5a, 0x61, 0x7a, 0x5f, 0x5f),
  xdigit: ranges(0x30, 0x39, 0x41, 0x46, 0x61, 0x66),
};

const propCache = new Map<string, Test>();

/** A Unicode class `\p{name}` (general categories and scripts, as RE2 knows them). */
function unicodeClass(name: string, raw: string): Test {
  const cached = propCache.get(name);
  if (cached !== undefined) return cached;
  if (name === "Any") return () => true;
  let re: RegExp;
  try {
    // One-letter and two-letter names are general categories; longer ones are scripts.
    const prop = /^[A-Z][a-z]?$/.test(name)
      ? `\\p{General_Category=${name}}`
      : `\\p{Script=${name}}`;
    re = new RegExp(`^${prop}$`, "u");
  } catch {
    throw new RegexSyntaxError(`invalid character class range: \`${raw}\``);
  }
  const memo = new Map<number, boolean>();
  const test: Test = (c) => {
    let r = memo.get(c);
    if (r === undefined) {
      r = re.test(String.fromCodePoint(c));
      if (memo.size < 4096) memo.set(c, r);
    }
    return r;
  };
  propCache.set(name, test);
  return test;
}

function folded(test: Test): Test {
  return (c) => {
    if (test(c)) return true;
    const s = String.fromCodePoint(c);
    const lo = s.toLowerCase();
    const up = s.toUpperCase();
    return (lo.length === s.length && test(lo.codePointAt(0) as number)) ||
      (up.length === s.length && test(up.codePointAt(0) as number));
  };
}

class Parser {
  readonly #cps: number[];
  readonly #src: string;
  #i = 0;
  #groups = 0;
  readonly names: (string | undefined)[] = [undefined];
  #depth = 0;

  constructor(src: string) {
    this.#src = src;
    this.#cps = Array.from(src, (c) => c.codePointAt(0) as number);
  }

  get groups(): number {
    return this.#groups;
  }

  #peek(o = 0): number | undefined {
    return this.#cps[this.#i + o];
  }

  #rest(from: number): string {
    return String.fromCodePoint(...this.#cps.slice(from));
  }

  #text(from: number, to: number): string {
    return String.fromCodePoint(...this.#cps.slice(from, to));
  }

  parse(): Node {
    const flags: Flags = { i: false, m: false, s: false, U: false };
    const n = this.#alt(flags);
    if (this.#i < this.#cps.length) {
      // Only an unmatched ")" stops the top level.
      throw new RegexSyntaxError(`unexpected ): \`${this.#src}\``);
    }
    return n;
  }

  #alt(flags: Flags): Node {
    if (++this.#depth > 1000) throw new RegexSyntaxError("expression nests too deeply");
    const subs: Node[] = [this.#cat(flags)];
    while (this.#peek() === 0x7c) {
      this.#i++;
      subs.push(this.#cat(flags));
    }
    this.#depth--;
    return subs.length === 1 ? subs[0] as Node : { k: "alt", subs };
  }

  #cat(flags: Flags): Node {
    const subs: Node[] = [];
    while (this.#i < this.#cps.length) {
      const c = this.#peek() as number;
      if (c === 0x7c || c === 0x29) break;
      const start = this.#i;
      let atom = this.#atom(flags);
      if (atom === undefined) continue; // a flag group like (?i)
      atom = this.#repeat(atom, flags, start);
      subs.push(atom);
    }
    return subs.length === 0
      ? { k: "empty" }
      : subs.length === 1
      ? subs[0] as Node
      : { k: "cat", subs };
  }

  #repeat(atom: Node, flags: Flags, start: number): Node {
    let node = atom;
    let repeated = false;
    while (this.#i < this.#cps.length) {
      const c = this.#peek() as number;
      let min: number;
      let max: number;
      const opStart = this.#i;
      if (c === 0x2a) [min, max] = [0, -1];
      else if (c === 0x2b) [min, max] = [1, -1];
      else if (c === 0x3f) [min, max] = [0, 1];
      else if (c === 0x7b) {
        const m = /^\{(\d+)(,(\d*))?\}/.exec(this.#rest(this.#i));
        if (m === null) break; // a literal "{"
        min = Number(m[1]);
        max = m[2] === undefined ? min : m[3] === "" ? -1 : Number(m[3]);
        if (min > MAX_REPEAT || max > MAX_REPEAT || (max >= 0 && max < min)) {
          throw new RegexSyntaxError(`invalid repeat count: \`${m[0]}\``);
        }
        this.#i += m[0].length - 1;
      } else break;
      this.#i++;
      if (repeated) {
        throw new RegexSyntaxError(
          `invalid nested repetition operator: \`${this.#text(opStart - 1, this.#i)}\``,
        );
      }
      let greedy = true;
      if (this.#peek() === 0x3f) {
        this.#i++;
        greedy = false;
      }
      if (flags.U) greedy = !greedy;
      if (atom.k === "empty" || (atom.k === "assert" && false)) {
        throw new RegexSyntaxError(
          `missing argument to repetition operator: \`${this.#text(opStart, this.#i)}\``,
        );
      }
      node = { k: "rep", sub: node, min, max, greedy };
      repeated = true;
      void start;
    }
    return node;
  }

  #atom(flags: Flags): Node | undefined {
    const c = this.#peek() as number;
    const start = this.#i;
    switch (c) {
      case 0x28: // (
        return this.#group(flags);
      case 0x5b: // [
        return this.#class(flags);
      case 0x2e: // .
        this.#i++;
        return { k: "char", test: flags.s ? () => true : (x) => x !== 0x0a };
      case 0x5e: // ^
        this.#i++;
        return { k: "assert", a: flags.m ? "bol_m" : "bot" };
      case 0x24: // $
        this.#i++;
        return { k: "assert", a: flags.m ? "eol_m" : "eot" };
      case 0x5c: // backslash
        return this.#escape(flags);
      case 0x2a:
      case 0x2b:
      case 0x3f:
        throw new RegexSyntaxError(
          `missing argument to repetition operator: \`${String.fromCodePoint(c)}\``,
        );
      case 0x7b: {
        if (/^\{\d+(,\d*)?\}/.test(this.#rest(this.#i))) {
          const m = /^\{\d+(,\d*)?\}/.exec(this.#rest(this.#i)) as RegExpExecArray;
          throw new RegexSyntaxError(`missing argument to repetition operator: \`${m[0]}\``);
        }
        this.#i++;
        return this.#lit(c, flags);
      }
      default:
        this.#i++;
        void start;
        return this.#lit(c, flags);
    }
  }

  #lit(c: number, flags: Flags): Node {
    const eq: Test = (x) => x === c;
    return { k: "char", test: flags.i ? folded(eq) : eq };
  }

  #group(flags: Flags): Node | undefined {
    const start = this.#i;
    this.#i++;
    let index = -1;
    let inner = flags;
    if (this.#peek() === 0x3f) {
      const rest = this.#rest(this.#i);
      const named = /^\?P?<([A-Za-z0-9_]*)>/.exec(rest);
      if (named !== null) {
        if (named[1] === "" || !/^[A-Za-z0-9_]+$/.test(named[1] as string)) {
          throw new RegexSyntaxError(
            `invalid named capture: \`${this.#text(start, this.#i + named[0].length)}\``,
          );
        }
        if (rest.startsWith("?<") && /^\?<[=!]/.test(rest)) {
          throw new RegexSyntaxError(
            `invalid or unsupported Perl syntax: \`(${rest.slice(0, 3)}\``,
          );
        }
        if (this.names.includes(named[1])) {
          throw new RegexSyntaxError(`duplicate capture group name: \`${named[1]}\``);
        }
        this.#i += [...named[0]].length;
        index = ++this.#groups;
        this.names[index] = named[1];
      } else {
        const fm = /^\?([imsU]*)(?:-([imsU]*))?([:)])/.exec(rest);
        if (
          fm === null || (fm[1] === "" && fm[2] === "" && fm[3] === ")") ||
          (fm[2] === "" && rest.includes("-") && fm[3] === ":" && false)
        ) {
          const shown = rest.slice(0, Math.min(rest.length, 2));
          throw new RegexSyntaxError(`invalid or unsupported Perl syntax: \`(${shown}\``);
        }
        if (fm[2] === "" && /^\?[imsU]*-[:)]/.test(rest)) {
          throw new RegexSyntaxError(
            `invalid or unsupported Perl syntax: \`(${rest.slice(0, fm[0].length)}\``,
          );
        }
        const nf: Flags = { ...flags };
        for (const f of fm[1] ?? "") nf[f as keyof Flags] = true;
        for (const f of fm[2] ?? "") nf[f as keyof Flags] = false;
        this.#i += [...fm[0]].length;
        if (fm[3] === ")") {
          // (?flags) changes the flags for the rest of the enclosing group.
          Object.assign(flags, nf);
          return undefined;
        }
        inner = nf;
      }
    } else {
      index = ++this.#groups;
      this.names[index] = undefined;
    }
    const sub = this.#alt(index === -1 ? inner : { ...inner });
    if (this.#peek() !== 0x29) throw new RegexSyntaxError(`missing closing ): \`${this.#src}\``);
    this.#i++;
    return index === -1 ? sub : { k: "group", sub, index };
  }

  #escapeCp(inClass: boolean): number | { test: Test } | Assertion {
    const start = this.#i;
    this.#i++;
    const c = this.#peek();
    if (c === undefined) throw new RegexSyntaxError("trailing backslash at end of expression: ``");
    this.#i++;
    const ch = String.fromCodePoint(c);
    const bad = () =>
      new RegexSyntaxError(`invalid escape sequence: \`${this.#text(start, this.#i)}\``);
    if (/[1-9]/.test(ch)) throw bad();
    if (ch === "0") {
      // Octal: \0, \01, \012.
      let v = 0;
      let n = 0;
      while (n < 2 && /[0-7]/.test(String.fromCodePoint(this.#peek() ?? 0x20))) {
        v = v * 8 + ((this.#peek() as number) - 0x30);
        this.#i++;
        n++;
      }
      return v;
    }
    switch (ch) {
      case "a":
        return 0x07;
      case "f":
        return 0x0c;
      case "t":
        return 0x09;
      case "n":
        return 0x0a;
      case "r":
        return 0x0d;
      case "v":
        return 0x0b;
      case "x": {
        const rest = this.#rest(this.#i);
        const m = /^\{([0-9a-fA-F]{1,8})\}/.exec(rest) ?? /^([0-9a-fA-F]{2})/.exec(rest);
        if (m === null) throw bad();
        this.#i += m[0].length;
        const v = parseInt(m[1] as string, 16);
        if (v > 0x10ffff) throw bad();
        return v;
      }
      case "d":
      case "s":
      case "w":
        return { test: PERL[ch] as Test };
      case "D":
      case "S":
      case "W": {
        const t = PERL[ch.toLowerCase()] as Test;
        return { test: (x) => !t(x) };
      }
      case "p":
      case "P": {
        let name: string;
        if (this.#peek() === 0x7b) {
          const m = /^\{(\^?)([A-Za-z_]+)\}/.exec(this.#rest(this.#i));
          if (m === null) {
            throw new RegexSyntaxError(
              `invalid character class range: \`${this.#text(start, this.#i + 1)}\``,
            );
          }
          this.#i += m[0].length;
          name = m[2] as string;
          const t = unicodeClass(name, this.#text(start, this.#i));
          const neg = (ch === "P") !== (m[1] === "^");
          return { test: neg ? (x) => !t(x) : t };
        }
        const n = this.#peek();
        if (n === undefined) throw bad();
        this.#i++;
        name = String.fromCodePoint(n);
        const t = unicodeClass(name, this.#text(start, this.#i));
        return { test: ch === "P" ? (x) => !t(x) : t };
      }
      case "A":
        if (inClass) throw bad();
        return "bot";
      case "z":
        if (inClass) throw bad();
        return "eot";
      case "b":
        if (inClass) throw bad();
        return "wordb";
      case "B":
        if (inClass) throw bad();
        return "nwordb";
      default:
        // Escaped punctuation is literal; escaped letters and digits are not RE2.
        if (c < 0x80 && !/[A-Za-z0-9]/.test(ch)) return c;
        throw bad();
    }
  }

  #escape(flags: Flags): Node {
    // \Q...\E quotes literal text.
    if (this.#peek(1) === 0x51) {
      this.#i += 2;
      const subs: Node[] = [];
      while (this.#i < this.#cps.length) {
        if (this.#peek() === 0x5c && this.#peek(1) === 0x45) {
          this.#i += 2;
          break;
        }
        subs.push(this.#lit(this.#peek() as number, flags));
        this.#i++;
      }
      return subs.length === 0 ? { k: "empty" } : { k: "cat", subs };
    }
    const e = this.#escapeCp(false);
    if (typeof e === "number") return this.#lit(e, flags);
    if (typeof e === "string") return { k: "assert", a: e };
    return { k: "char", test: flags.i ? folded(e.test) : e.test };
  }

  #class(flags: Flags): Node {
    const start = this.#i;
    this.#i++;
    let neg = false;
    if (this.#peek() === 0x5e) {
      neg = true;
      this.#i++;
    }
    const tests: Test[] = [];
    const pairs: number[] = [];
    let first = true;
    while (true) {
      const c = this.#peek();
      if (c === undefined) {
        throw new RegexSyntaxError(`missing closing ]: \`${this.#rest(start)}\``);
      }
      if (c === 0x5d && !first) {
        this.#i++;
        break;
      }
      first = false;
      if (c === 0x5b && this.#peek(1) === 0x3a) {
        const m = /^\[:(\^?)([a-z]+):\]/.exec(this.#rest(this.#i));
        if (m !== null) {
          const t = POSIX[m[2] as string];
          if (t === undefined) {
            throw new RegexSyntaxError(`invalid character class range: \`${m[0]}\``);
          }
          tests.push(m[1] === "^" ? (x) => !t(x) : t);
          this.#i += m[0].length;
          continue;
        }
      }
      const itemStart = this.#i;
      let lo: number;
      if (c === 0x5c) {
        const e = this.#escapeCp(true);
        if (typeof e === "object") {
          tests.push(e.test);
          continue;
        }
        if (typeof e === "string") {
          throw new RegexSyntaxError(
            `invalid escape sequence: \`${this.#text(itemStart, this.#i)}\``,
          );
        }
        lo = e;
      } else {
        lo = c;
        this.#i++;
      }
      let hi = lo;
      if (this.#peek() === 0x2d && this.#peek(1) !== undefined && this.#peek(1) !== 0x5d) {
        this.#i++;
        const d = this.#peek() as number;
        if (d === 0x5c) {
          const e = this.#escapeCp(true);
          if (typeof e !== "number") {
            throw new RegexSyntaxError(
              `invalid character class range: \`${this.#text(itemStart, this.#i)}\``,
            );
          }
          hi = e;
        } else {
          hi = d;
          this.#i++;
        }
        if (hi < lo) {
          throw new RegexSyntaxError(
            `invalid character class range: \`${this.#text(itemStart, this.#i)}\``,
          );
        }
      }
      pairs.push(lo, hi);
    }
    const base = ranges(...pairs);
    let test: Test = tests.length === 0 ? base : (x) => base(x) || tests.some((t) => t(x));
    if (flags.i) test = folded(test);
    const member = test;
    return { k: "char", test: neg ? (x) => !member(x) : member };
  }
}

type Inst =
  | { readonly op: "char"; readonly test: Test }
  | { op: "split"; x: number; y: number }
  | { op: "jmp"; x: number }
  | { readonly op: "save"; readonly n: number }
  | { readonly op: "assert"; readonly a: Assertion }
  | { readonly op: "match" };

function compile(node: Node, prog: Inst[]): void {
  const emit = (i: Inst) => {
    if (prog.length >= MAX_PROGRAM) throw new RegexSyntaxError("expression too large");
    prog.push(i);
    return prog.length - 1;
  };
  const go = (n: Node): void => {
    switch (n.k) {
      case "empty":
        return;
      case "char":
        emit({ op: "char", test: n.test });
        return;
      case "assert":
        emit({ op: "assert", a: n.a });
        return;
      case "cat":
        for (const s of n.subs) go(s);
        return;
      case "alt": {
        const jumps: { op: "jmp"; x: number }[] = [];
        for (let i = 0; i < n.subs.length; i++) {
          if (i < n.subs.length - 1) {
            const split = { op: "split" as const, x: 0, y: 0 };
            emit(split);
            split.x = prog.length;
            go(n.subs[i] as Node);
            const j = { op: "jmp" as const, x: 0 };
            emit(j);
            jumps.push(j);
            split.y = prog.length;
          } else go(n.subs[i] as Node);
        }
        for (const j of jumps) j.x = prog.length;
        return;
      }
      case "group":
        emit({ op: "save", n: 2 * n.index });
        go(n.sub);
        emit({ op: "save", n: 2 * n.index + 1 });
        return;
      case "rep": {
        for (let i = 0; i < n.min; i++) go(n.sub);
        if (n.max === -1) {
          const split = { op: "split" as const, x: 0, y: 0 };
          const at = emit(split);
          const body = prog.length;
          go(n.sub);
          emit({ op: "jmp", x: at });
          const after = prog.length;
          if (n.greedy) [split.x, split.y] = [body, after];
          else [split.x, split.y] = [after, body];
        } else {
          const splits: { op: "split"; x: number; y: number }[] = [];
          for (let i = n.min; i < n.max; i++) {
            const split = { op: "split" as const, x: 0, y: 0 };
            emit(split);
            split.x = prog.length;
            splits.push(split);
            go(n.sub);
          }
          const after = prog.length;
          for (const s of splits) {
            if (n.greedy) s.y = after;
            else [s.x, s.y] = [after, s.x];
          }
        }
        return;
      }
    }
  };
  go(node);
}

/** A compiled RE2 pattern. */
export class Re2 {
  readonly #prog: Inst[];
  /** Number of capture groups (not counting the whole match). */
  readonly groups: number;
  /** Group names by index (`undefined` for unnamed). */
  readonly names: readonly (string | undefined)[];

  /** Compile `pattern`; throws {@link RegexSyntaxError} with Go's message. */
  constructor(pattern: string) {
    if (pattern.length > MAX_PATTERN) throw new RegexSyntaxError("expression too large");
    const p = new Parser(pattern);
    const node = p.parse();
    const prog: Inst[] = [];
    compile({ k: "group", sub: node, index: 0 }, prog);
    prog.push({ op: "match" });
    this.#prog = prog;
    this.groups = p.groups;
    this.names = p.names;
  }

  /**
   * The leftmost-first match at or after `start`: capture positions (UTF-16 indices, -1 for an
   * unset group), or undefined. `tick` is called every few thousand steps (deadline checks).
   */
  exec(input: string, start: number, tick: () => void): number[] | undefined {
    const prog = this.#prog;
    const ncap = 2 * (this.groups + 1);
    let clist: { pc: number; caps: number[] }[] = [];
    let nlist: { pc: number; caps: number[] }[] = [];
    const seen = new Int32Array(prog.length).fill(-1);
    let generation = 0;
    let matched: number[] | undefined;
    let steps = 0;
    const assertOk = (a: Assertion, pos: number): boolean => {
      const prev = pos > 0 ? input.charCodeAt(pos - 1) : -1;
      const next = pos < input.length ? input.charCodeAt(pos) : -1;
      switch (a) {
        case "bot":
          return pos === 0;
        case "eot":
          return pos === input.length;
        case "bol":
        case "bol_m":
          return pos === 0 || (a === "bol_m" && prev === 0x0a);
        case "eol":
        case "eol_m":
          return pos === input.length || (a === "eol_m" && next === 0x0a);
        case "wordb":
          return isWordCp(prev) !== isWordCp(next);
        case "nwordb":
          return isWordCp(prev) === isWordCp(next);
      }
    };
    // Follow empty transitions from `pc` in priority order, adding the threads they reach.
    const add = (
      list: { pc: number; caps: number[] }[],
      pc0: number,
      caps0: number[],
      pos: number,
    ) => {
      const stack: [number, number[]][] = [[pc0, caps0]];
      while (stack.length > 0) {
        const [pc, caps] = stack.pop() as [number, number[]];
        if (seen[pc] === generation) continue;
        seen[pc] = generation;
        if (++steps % 4096 === 0) tick();
        const inst = prog[pc] as Inst;
        switch (inst.op) {
          case "jmp":
            stack.push([inst.x, caps]);
            break;
          case "split":
            stack.push([inst.y, caps], [inst.x, caps]);
            break;
          case "save": {
            const c = caps.slice();
            c[inst.n] = pos;
            stack.push([pc + 1, c]);
            break;
          }
          case "assert":
            if (assertOk(inst.a, pos)) stack.push([pc + 1, caps]);
            break;
          default:
            list.push({ pc, caps });
        }
      }
    };
    let pos = start;
    generation++;
    while (true) {
      // Seed a thread at this position (lowest priority) until a match is found; `seen` still
      // holds this generation's marks for the threads already queued here.
      if (matched === undefined) add(clist, 0, new Array(ncap).fill(-1), pos);
      const cp = pos < input.length ? input.codePointAt(pos) as number : -1;
      const width = cp > 0xffff ? 2 : 1;
      if (clist.length === 0) {
        if (matched !== undefined || pos >= input.length) break;
        pos += width;
        generation++;
        continue;
      }
      generation++;
      nlist = [];
      for (const t of clist) {
        const inst = prog[t.pc] as Inst;
        if (inst.op === "match") {
          matched = t.caps;
          break; // lower-priority threads lose (leftmost-first)
        }
        if (inst.op === "char" && cp >= 0 && inst.test(cp)) {
          add(nlist, t.pc + 1, t.caps, pos + width);
        }
      }
      [clist, nlist] = [nlist, clist];
      if (pos >= input.length) break;
      pos += width;
    }
    return matched;
  }

  /** Whether the pattern matches anywhere in `input`. */
  test(input: string, tick: () => void): boolean {
    return this.exec(input, 0, tick) !== undefined;
  }

  /**
   * Successive non-overlapping matches (Go's `FindAll*`): at most `n` (all when n < 0); an
   * empty match right after the previous match is skipped, as Go does.
   */
  findAll(input: string, n: number, tick: () => void): number[][] {
    const out: number[][] = [];
    let pos = 0;
    let prevEnd = -1;
    while (pos <= input.length && (n < 0 || out.length < n)) {
      const m = this.exec(input, pos, tick);
      if (m === undefined) break;
      const [s, e] = m as [number, number];
      if (e === s && s === prevEnd) {
        // Empty match abutting the previous one: try one code point later.
        if (pos >= input.length) break;
        pos += (input.codePointAt(pos) as number) > 0xffff ? 2 : 1;
        continue;
      }
      out.push(m);
      prevEnd = e;
      if (e > s) pos = e;
      else {
        if (e >= input.length) break;
        pos = e + ((input.codePointAt(e) as number) > 0xffff ? 2 : 1);
      }
    }
    return out;
  }
}

const cache = new Map<string, Re2 | RegexSyntaxError>();

/** Compile (cached) a pattern; throws {@link RegexSyntaxError}. */
export function compileRe2(pattern: string): Re2 {
  let r = cache.get(pattern);
  if (r === undefined) {
    try {
      r = new Re2(pattern);
    } catch (e) {
      if (!(e instanceof RegexSyntaxError)) throw e;
      r = e;
    }
    if (cache.size > 512) cache.clear();
    cache.set(pattern, r);
  }
  if (r instanceof RegexSyntaxError) throw r;
  return r;
}
