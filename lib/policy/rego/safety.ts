/**
 * Safety: every variable of a body must be bound before it is read. OPA's compiler reorders the
 * expressions of a body so that this holds (`reorderBodyForSafety`) and reports the variables
 * for which no order works (`rego_unsafe_var_error: var x is unsafe`); this module does the
 * same, and folds ground terms into constants on the way.
 *
 * What binds a variable: unification (`x = t`, `x := t`, `[x, 1] = t`), a reference index
 * (`xs[i]` enumerates `i`), a call's output argument (`count(xs, n)`), `some x in xs`. What
 * needs one bound: call operands, reference heads, set elements, object keys, variables read by
 * a comprehension or an `every` body (closures), and everything in `not` that also occurs in
 * the rest of the body.
 *
 * @module
 */

import type { Body, Expr, Term } from "./ast.ts";
import { RegoError } from "./errors.ts";
import { keyOf, RegoObject, RegoSet, type Value } from "./value.ts";

type Safe = (slot: number) => boolean;

/** Collect every slot a term or expression mentions (nested bodies included). */
export function collectSlots(x: Term | Expr, acc: Set<number>): void {
  if ("t" in x) {
    switch (x.t) {
      case "var":
        if (x.slot >= 0) acc.add(x.slot);
        return;
      case "ref":
        collectSlots(x.head, acc);
        for (const p of x.path) collectSlots(p, acc);
        return;
      case "call":
        for (const a of x.args) collectSlots(a, acc);
        return;
      case "array":
      case "set":
        for (const i of x.items) collectSlots(i, acc);
        return;
      case "object":
        for (const [k, v] of x.entries) {
          collectSlots(k, acc);
          collectSlots(v, acc);
        }
        return;
      case "compr":
        collectSlots(x.head, acc);
        if (x.value !== undefined) collectSlots(x.value, acc);
        for (const e of x.body) collectSlots(e, acc);
        return;
      default:
        return;
    }
  }
  for (const w of x.withs) collectSlots(w.value, acc);
  switch (x.k) {
    case "term":
      return collectSlots(x.term, acc);
    case "callout":
      collectSlots(x.call, acc);
      return collectSlots(x.output, acc);
    case "unify":
    case "assign":
      collectSlots(x.lhs, acc);
      return collectSlots(x.rhs, acc);
    case "some":
      for (const v of x.vars) collectSlots(v, acc);
      return;
    case "somein":
      if (x.key !== undefined) collectSlots(x.key, acc);
      collectSlots(x.value, acc);
      return collectSlots(x.coll, acc);
    case "every":
      if (x.key !== undefined) collectSlots(x.key, acc);
      collectSlots(x.value, acc);
      collectSlots(x.domain, acc);
      for (const e of x.body) collectSlots(e, acc);
      return;
  }
}

/**
 * The value of a ground term (scalars and collections of ground terms), cached on the term as
 * `cv`; undefined for terms with variables, references, calls or comprehensions.
 */
export function constValue(t: Term): Value | undefined {
  if (t.cv !== undefined) return t.cv;
  let v: Value | undefined;
  switch (t.t) {
    case "null":
      v = null;
      break;
    case "bool":
    case "num":
    case "str":
      v = t.value;
      break;
    case "array": {
      const items: Value[] = [];
      let ok = true;
      for (const i of t.items) {
        const c = constValue(i);
        if (c === undefined) ok = false;
        else items.push(c);
      }
      v = ok ? items : undefined;
      break;
    }
    case "set": {
      const s = new RegoSet();
      let ok = true;
      for (const i of t.items) {
        const c = constValue(i);
        if (c === undefined) ok = false;
        else s.add(c);
      }
      v = ok ? s : undefined;
      break;
    }
    case "object": {
      const o = new RegoObject();
      let ok = true;
      for (const [k, e] of t.entries) {
        const ck = constValue(k);
        const ce = constValue(e);
        if (ck === undefined || ce === undefined) ok = false;
        else if (o.has(ck)) ok = false; // duplicate keys are a conflict, left to the evaluator
        else o.set(ck, ce);
      }
      v = ok ? o : undefined;
      break;
    }
    default:
      // Fold the parts of non-ground terms too.
      foldInside(t);
      return undefined;
  }
  if (v !== undefined) t.cv = v;
  return v;
}

function foldInside(t: Term): void {
  switch (t.t) {
    case "ref":
      constValue(t.head);
      t.path.forEach(constValue);
      return;
    case "call":
      t.args.forEach(constValue);
      return;
    case "compr":
      constValue(t.head);
      if (t.value !== undefined) constValue(t.value);
      return;
    default:
      return;
  }
}

function foldExpr(e: Expr): void {
  for (const w of e.withs) constValue(w.value);
  switch (e.k) {
    case "term":
      constValue(e.term);
      return;
    case "callout":
      constValue(e.call);
      constValue(e.output);
      return;
    case "unify":
    case "assign":
      constValue(e.lhs);
      constValue(e.rhs);
      return;
    case "somein":
      if (e.key !== undefined) constValue(e.key);
      constValue(e.value);
      constValue(e.coll);
      return;
    case "every":
      constValue(e.domain);
      return;
    default:
      return;
  }
}

/** Whether `t` can be evaluated given `safe`; adds the variables it binds by iteration to `outs`. */
function evaluable(t: Term, safe: Safe, outs: Set<number>): boolean {
  switch (t.t) {
    case "var":
      return t.slot < 0 || safe(t.slot) || outs.has(t.slot);
    case "null":
    case "bool":
    case "num":
    case "str":
      return true;
    case "array":
    case "set":
      return t.items.every((i) => evaluable(i, safe, outs));
    case "object":
      return t.entries.every(([k, v]) => evaluable(k, safe, outs) && evaluable(v, safe, outs));
    case "call":
      return t.args.every((a) => evaluable(a, safe, outs));
    case "compr":
      return (t.free ?? []).every((s) => safe(s) || outs.has(s));
    case "ref": {
      if (!evaluable(t.head, safe, outs)) return false;
      for (const p of t.path) {
        if (p.t === "var" && p.slot >= 0) {
          if (!(safe(p.slot) || outs.has(p.slot))) outs.add(p.slot);
        } else if (p.t === "array" || p.t === "object") {
          const trial = new Set(outs);
          if (evaluable(p, safe, trial)) { for (const o of trial) outs.add(o); }
          else if (!bindable(p, safe, outs)) return false;
        } else if (!evaluable(p, safe, outs)) return false;
      }
      return true;
    }
  }
}

/** Whether `t` can receive a value by unification; adds the variables it binds to `outs`. */
function bindable(t: Term, safe: Safe, outs: Set<number>): boolean {
  switch (t.t) {
    case "var":
      if (t.slot >= 0 && !safe(t.slot)) outs.add(t.slot);
      return true;
    case "array":
      return t.items.every((i) => bindable(i, safe, outs));
    case "object":
      return t.entries.every(([k, v]) => evaluable(k, safe, outs) && bindable(v, safe, outs));
    default:
      return evaluable(t, safe, outs);
  }
}

/** The variables a unification `a = b` binds, or undefined when it cannot run yet. */
function unifiable(a: Term, b: Term, safe: Safe): Set<number> | undefined {
  let o = new Set<number>();
  if (evaluable(a, safe, o) && evaluable(b, safe, o)) return o;
  o = new Set();
  if (evaluable(b, safe, o) && bindable(a, (s) => safe(s) || o.has(s), o)) return o;
  o = new Set();
  if (evaluable(a, safe, o) && bindable(b, (s) => safe(s) || o.has(s), o)) return o;
  let pairs: [Term, Term][] | undefined;
  if (a.t === "array" && b.t === "array" && a.items.length === b.items.length) {
    pairs = a.items.map((x, i) => [x, b.items[i] as Term]);
  } else if (a.t === "object" && b.t === "object" && a.entries.length === b.entries.length) {
    pairs = [];
    for (const [ka, va] of a.entries) {
      const ck = constValue(ka);
      const match = b.entries.find(([kb]) => {
        const cb = constValue(kb);
        return ck !== undefined && cb !== undefined && keyOf(ck) === keyOf(cb);
      });
      if (match === undefined) return undefined;
      pairs.push([va, match[1]]);
    }
  }
  if (pairs === undefined) return undefined;
  o = new Set();
  let progress = true;
  while (pairs.length > 0 && progress) {
    progress = false;
    for (let i = 0; i < pairs.length; i++) {
      const [x, y] = pairs[i] as [Term, Term];
      const r = unifiable(x, y, (s) => safe(s) || o.has(s));
      if (r !== undefined) {
        for (const s of r) o.add(s);
        pairs.splice(i, 1);
        progress = true;
        break;
      }
    }
  }
  return pairs.length === 0 ? o : undefined;
}

/** The variables an expression binds, or undefined when it cannot run yet. */
function ready(e: Expr, safe: Safe, elsewhere: (slot: number) => boolean): Set<number> | undefined {
  for (const w of e.withs) if (!evaluable(w.value, safe, new Set())) return undefined;
  let outs: Set<number> | undefined;
  switch (e.k) {
    case "term": {
      const o = new Set<number>();
      outs = evaluable(e.term, safe, o) ? o : undefined;
      break;
    }
    case "callout": {
      const o = new Set<number>();
      outs = evaluable(e.call, safe, o) && bindable(e.output, (s) => safe(s) || o.has(s), o)
        ? o
        : undefined;
      break;
    }
    case "unify":
    case "assign":
      outs = unifiable(e.lhs, e.rhs, safe);
      break;
    case "some":
      outs = new Set();
      break;
    case "somein": {
      const o = new Set<number>();
      const s2 = (s: number) => safe(s) || o.has(s);
      outs = evaluable(e.coll, safe, o) &&
          (e.key === undefined || bindable(e.key, s2, o)) && bindable(e.value, s2, o)
        ? o
        : undefined;
      break;
    }
    case "every": {
      const o = new Set<number>();
      outs = evaluable(e.domain, safe, o) && (e.free ?? []).every((s) => safe(s) || o.has(s))
        ? o
        : undefined;
      break;
    }
  }
  if (outs === undefined) return undefined;
  if (e.negated) {
    // Variables shared with the rest of the body must be bound before the negation runs;
    // variables only the negation mentions are existential inside it.
    for (const s of outs) if (elsewhere(s)) return undefined;
    return new Set();
  }
  return outs;
}

/** The first variable of `x` (in source order) that `safe` does not cover. */
function firstUnsafe(x: Term | Expr, safe: Safe): Term | undefined {
  let found: Term | undefined;
  const visit = (t: Term): void => {
    if (found !== undefined) return;
    switch (t.t) {
      case "var":
        if (t.slot >= 0 && !safe(t.slot)) found = t;
        return;
      case "ref":
        visit(t.head);
        t.path.forEach(visit);
        return;
      case "call":
        t.args.forEach(visit);
        return;
      case "array":
      case "set":
        t.items.forEach(visit);
        return;
      case "object":
        for (const [k, v] of t.entries) {
          visit(k);
          visit(v);
        }
        return;
      case "compr":
        for (const s of t.free ?? []) {
          if (!safe(s) && found === undefined) found = findVarTerm(t, s);
        }
        return;
      default:
        return;
    }
  };
  if ("t" in x) visit(x);
  else {
    switch (x.k) {
      case "term":
        visit(x.term);
        break;
      case "callout":
        visit(x.call);
        visit(x.output);
        break;
      case "unify":
      case "assign":
        visit(x.lhs);
        visit(x.rhs);
        break;
      case "some":
        break;
      case "somein":
        visit(x.coll);
        break;
      case "every":
        visit(x.domain);
        for (const s of x.free ?? []) {
          if (!safe(s) && found === undefined) {
            for (const b of x.body) found ??= findVarTermInExpr(b, s);
          }
        }
        break;
    }
    for (const w of x.withs) visit(w.value);
  }
  return found;
}

function findVarTerm(t: Term, slot: number): Term | undefined {
  switch (t.t) {
    case "var":
      return t.slot === slot ? t : undefined;
    case "ref": {
      const h = findVarTerm(t.head, slot);
      if (h !== undefined) return h;
      for (const p of t.path) {
        const f = findVarTerm(p, slot);
        if (f !== undefined) return f;
      }
      return undefined;
    }
    case "call":
      for (const a of t.args) {
        const f = findVarTerm(a, slot);
        if (f !== undefined) return f;
      }
      return undefined;
    case "array":
    case "set":
      for (const a of t.items) {
        const f = findVarTerm(a, slot);
        if (f !== undefined) return f;
      }
      return undefined;
    case "object":
      for (const [k, v] of t.entries) {
        const f = findVarTerm(k, slot) ?? findVarTerm(v, slot);
        if (f !== undefined) return f;
      }
      return undefined;
    case "compr": {
      const f = findVarTerm(t.head, slot) ??
        (t.value === undefined ? undefined : findVarTerm(t.value, slot));
      if (f !== undefined) return f;
      for (const e of t.body) {
        const g = findVarTermInExpr(e, slot);
        if (g !== undefined) return g;
      }
      return undefined;
    }
    default:
      return undefined;
  }
}

function findVarTermInExpr(e: Expr, slot: number): Term | undefined {
  const terms: Term[] = [];
  switch (e.k) {
    case "term":
      terms.push(e.term);
      break;
    case "callout":
      terms.push(e.call, e.output);
      break;
    case "unify":
    case "assign":
      terms.push(e.lhs, e.rhs);
      break;
    case "some":
      terms.push(...e.vars);
      break;
    case "somein":
      if (e.key !== undefined) terms.push(e.key);
      terms.push(e.value, e.coll);
      break;
    case "every":
      if (e.key !== undefined) terms.push(e.key);
      terms.push(e.value, e.domain);
      for (const b of e.body) {
        const f = findVarTermInExpr(b, slot);
        if (f !== undefined) return f;
      }
      break;
  }
  for (const w of e.withs) terms.push(w.value);
  for (const t of terms) {
    const f = findVarTerm(t, slot);
    if (f !== undefined) return f;
  }
  return undefined;
}

function unsafeError(t: Term | undefined, fallback: Expr | Term): RegoError {
  const name = t !== undefined && t.t === "var" ? t.name : "_";
  return new RegoError("rego_unsafe_var_error", `var ${name} is unsafe`, {
    location: (t ?? fallback).loc,
  });
}

/**
 * Order a body so that each expression's inputs are bound by earlier ones (keeping the written
 * order where it already works), and check that the head terms are bound at the end.
 * `safeInit` tells which slots are bound on entry (parameters, enclosing scopes).
 */
export function reorderBody(body: Body, safeInit: Safe, head: readonly Term[]): Body {
  for (const e of body) foldExpr(e);
  for (const t of head) constValue(t);
  const bound = new Set<number>();
  const safe: Safe = (s) => safeInit(s) || bound.has(s);
  // Which slots each expression mentions, to know what a negation shares with the others.
  const mentions = body.map((e) => {
    const acc = new Set<number>();
    collectSlots(e, acc);
    return acc;
  });
  const headSlots = new Set<number>();
  for (const t of head) collectSlots(t, headSlots);
  const count = new Map<number, number>();
  for (const m of [...mentions, headSlots]) {
    for (const s of m) count.set(s, (count.get(s) ?? 0) + 1);
  }
  const remaining = body.map((e, i) => ({ e, i }));
  const out: Body = [];
  while (remaining.length > 0) {
    let picked = -1;
    let outs: Set<number> | undefined;
    for (let j = 0; j < remaining.length; j++) {
      const { e, i } = remaining[j] as { e: Expr; i: number };
      const own = mentions[i] as Set<number>;
      const elsewhere = (s: number) => (count.get(s) ?? 0) - (own.has(s) ? 1 : 0) > 0;
      outs = ready(e, safe, elsewhere);
      if (outs !== undefined) {
        picked = j;
        break;
      }
    }
    if (picked < 0 || outs === undefined) {
      const first = (remaining[0] as { e: Expr }).e;
      throw unsafeError(firstUnsafe(first, safe), first);
    }
    const [next] = remaining.splice(picked, 1);
    out.push((next as { e: Expr }).e);
    for (const s of outs) bound.add(s);
  }
  // Head terms may iterate themselves (`q := xs[_]`): what they bind by reference indices
  // counts, as OPA moves such terms into the body.
  for (const t of head) {
    const outs = new Set<number>();
    evaluable(t, safe, outs);
    for (const s of outs) bound.add(s);
  }
  for (const t of head) {
    const u = firstUnsafe(t, safe);
    if (u !== undefined) throw unsafeError(u, t);
  }
  return out;
}
