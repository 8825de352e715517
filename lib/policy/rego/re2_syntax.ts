/**
 * RE2 syntax (Go's `regexp/syntax` with Perl flags) parsed into a small tree: literals, classes
 * (Perl `\d\s\w`, POSIX `[[:alpha:]]`, Unicode `\pL`, `\p{Greek}`), anchors, groups
 * (capturing, `(?P<name>)`, `(?:)`, flags `imsU`), alternation and repetition (up to 1000).
 * What RE2 lacks is refused with Go's message: backreferences, lookaround, nested repetition.
 * `re2.ts` compiles the tree to a Pike VM program.
 *
 * @module
 */

/** Largest repeat count (`a{1000}`), as RE2. */
const MAX_REPEAT = 1000;

/** A pattern RE2 would not compile; `message` is Go's text. */
export class RegexSyntaxError extends Error {}

/** A code point predicate. */
export type Test = (cp: number) => boolean;

/** A parsed regular expression. */
export type Node =
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

/** Zero-width assertions. */
export type Assertion = "bol" | "eol" | "bot" | "eot" | "bol_m" | "eol_m" | "wordb" | "nwordb";

interface Flags {
  i: boolean;
  m: boolean;
  s: boolean;
  U: boolean;
}

/** ASCII word characters (`\w`, `\b`). */
export const isWordCp = (c: number) =>
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

/** The RE2 syntax parser (Go `regexp/syntax`, Perl flags). */
export class Re2Parser {
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
