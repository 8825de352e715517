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

import {
  type Assertion,
  isWordCp,
  type Node,
  Re2Parser,
  RegexSyntaxError,
  type Test,
} from "./re2_syntax.ts";

export { RegexSyntaxError } from "./re2_syntax.ts";

/** Longest pattern accepted. */
export const MAX_PATTERN = 16_384;
/** Largest compiled program (RE2 rejects programs of this order as "expression too large"). */
export const MAX_PROGRAM = 200_000;
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
    const p = new Re2Parser(pattern);
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
