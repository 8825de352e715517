/**
 * Object built-ins: `object.get` (with array paths), `object.keys`, `object.union`,
 * `object.union_n`, `object.remove`, `object.filter`, `json.filter`, `json.remove`,
 * `json.patch` (RFC 6902) and `walk`.
 *
 * `json.filter`/`json.remove` paths are `"a/b/c"` strings or arrays of keys; array elements are
 * addressed by their index as a string (`"a/0"`), as in OPA, where a path is turned into a
 * nested object of keys first.
 *
 * @module
 */

import { equalValues, isNumber, RegoObject, RegoSet, type Value } from "../value.ts";
import { arr, type Builtin, builtin, type BuiltinContext, obj, operandError } from "./registry.ts";

function keysOf(v: Value, pos: number): Value[] {
  if (Array.isArray(v)) return v;
  if (v instanceof RegoSet) return [...v.values()];
  if (v instanceof RegoObject) return v.keys();
  throw operandError(pos, v, "object", "set", "array");
}

/** Deep merge, `b` winning (OPA `mergeWithOverwrite`). */
function union(a: RegoObject, b: RegoObject): RegoObject {
  const out = new RegoObject(a.entries());
  for (const [k, v] of b.entries()) {
    const prev = out.get(k);
    out.set(k, prev instanceof RegoObject && v instanceof RegoObject ? union(prev, v) : v);
  }
  return out;
}

/** JSON paths to a nested object of keys with `null` leaves (OPA `pathsToObject`). */
function pathsToObject(paths: readonly Value[], pos: number): RegoObject {
  const root = new RegoObject();
  for (const p of paths) {
    let parts: Value[];
    if (typeof p === "string") {
      parts = p.replace(/^\//, "").split("/").map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
    } else if (Array.isArray(p)) parts = p;
    else throw operandError(pos, p, "set", "array", "of strings or arrays");
    let node = root;
    for (let i = 0; i < parts.length; i++) {
      const key = parts[i] as Value;
      const last = i === parts.length - 1;
      const cur = node.get(key);
      if (cur === null) break; // a shorter path already selects everything below
      if (last) {
        node.set(key, null);
        break;
      }
      if (cur instanceof RegoObject) node = cur;
      else {
        const fresh = new RegoObject();
        node.set(key, fresh);
        node = fresh;
      }
    }
  }
  return root;
}

function filterValue(v: Value, filter: Value): Value {
  if (filter === null) return v;
  if (!(filter instanceof RegoObject)) return v;
  if (Array.isArray(v)) {
    const out: Value[] = [];
    v.forEach((e, i) => {
      const sub = filter.get(String(i));
      if (sub !== undefined) out.push(filterValue(e, sub));
    });
    return out;
  }
  if (v instanceof RegoSet) {
    const out = new RegoSet();
    for (const e of v.values()) {
      const sub = filter.get(e);
      if (sub !== undefined) out.add(filterValue(e, sub));
    }
    return out;
  }
  if (v instanceof RegoObject) {
    const out = new RegoObject();
    for (const [k, e] of v.entries()) {
      const sub = filter.get(k);
      if (sub !== undefined) out.set(k, filterValue(e, sub));
    }
    return out;
  }
  return v;
}

function removeValue(v: Value, filter: Value | undefined): Value | undefined {
  if (filter === undefined) return v;
  if (filter === null) return undefined;
  if (!(filter instanceof RegoObject)) return v;
  if (Array.isArray(v)) {
    const out: Value[] = [];
    v.forEach((e, i) => {
      const r = removeValue(e, filter.get(String(i)));
      if (r !== undefined) out.push(r);
    });
    return out;
  }
  if (v instanceof RegoSet) {
    const out = new RegoSet();
    for (const e of v.values()) {
      const r = removeValue(e, filter.get(e));
      if (r !== undefined) out.add(r);
    }
    return out;
  }
  if (v instanceof RegoObject) {
    const out = new RegoObject();
    for (const [k, e] of v.entries()) {
      const r = removeValue(e, filter.get(k));
      if (r !== undefined) out.set(k, r);
    }
    return out;
  }
  return v;
}

// ---- json.patch (RFC 6902) ----

class PatchFailure extends Error {}

function pointer(path: Value): Value[] {
  if (Array.isArray(path)) return path;
  if (typeof path !== "string") throw new PatchFailure();
  if (path === "") return [];
  if (!path.startsWith("/")) throw new PatchFailure();
  return path.slice(1).split("/").map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
}

function arrayIndex(key: Value, length: number, allowEnd: boolean): number {
  if (key === "-" && allowEnd) return length;
  let n: number;
  if (typeof key === "string" && /^(0|[1-9]\d*)$/.test(key)) n = Number(key);
  else if (typeof key === "number" && Number.isInteger(key)) n = key;
  else throw new PatchFailure();
  if (n < 0 || n > length || (!allowEnd && n === length)) throw new PatchFailure();
  return n;
}

function getAt(doc: Value, path: readonly Value[]): Value {
  let cur = doc;
  for (const key of path) {
    if (cur instanceof RegoObject) {
      const next = cur.get(key);
      if (next === undefined) throw new PatchFailure();
      cur = next;
    } else if (Array.isArray(cur)) cur = cur[arrayIndex(key, cur.length, false)] as Value;
    else if (cur instanceof RegoSet) {
      if (!cur.has(key)) throw new PatchFailure();
      cur = key;
    } else throw new PatchFailure();
  }
  return cur;
}

/** `doc` with the value at `path` transformed by `f` (which sees the parent and the last key). */
function updateAt(
  doc: Value,
  path: readonly Value[],
  f: (parent: Value, key: Value) => Value,
): Value {
  if (path.length === 0) throw new PatchFailure();
  const [key, ...rest] = path as [Value, ...Value[]];
  if (rest.length === 0) return f(doc, key);
  if (doc instanceof RegoObject) {
    const child = doc.get(key);
    if (child === undefined) throw new PatchFailure();
    const out = new RegoObject(doc.entries());
    out.set(key, updateAt(child, rest, f));
    return out;
  }
  if (Array.isArray(doc)) {
    const i = arrayIndex(key, doc.length, false);
    const out = [...doc];
    out[i] = updateAt(doc[i] as Value, rest, f);
    return out;
  }
  if (doc instanceof RegoSet) {
    if (!doc.has(key)) throw new PatchFailure();
    const out = new RegoSet([...doc.values()].filter((x) => !equalValues(x, key)));
    out.add(updateAt(key, rest, f));
    return out;
  }
  throw new PatchFailure();
}

function addAt(doc: Value, path: readonly Value[], value: Value): Value {
  if (path.length === 0) return value;
  return updateAt(doc, path, (parent, key) => {
    if (parent instanceof RegoObject) {
      const out = new RegoObject(parent.entries());
      out.set(key, value);
      return out;
    }
    if (Array.isArray(parent)) {
      const i = arrayIndex(key, parent.length, true);
      return [...parent.slice(0, i), value, ...parent.slice(i)];
    }
    if (parent instanceof RegoSet) {
      const out = new RegoSet(parent.values());
      out.add(value);
      return out;
    }
    throw new PatchFailure();
  });
}

function removeAt(doc: Value, path: readonly Value[]): Value {
  return updateAt(doc, path, (parent, key) => {
    if (parent instanceof RegoObject) {
      if (!parent.has(key)) throw new PatchFailure();
      const out = new RegoObject(parent.entries());
      out.delete(key);
      return out;
    }
    if (Array.isArray(parent)) {
      const i = arrayIndex(key, parent.length, false);
      return [...parent.slice(0, i), ...parent.slice(i + 1)];
    }
    if (parent instanceof RegoSet) {
      if (!parent.has(key)) throw new PatchFailure();
      return new RegoSet([...parent.values()].filter((x) => !equalValues(x, key)));
    }
    throw new PatchFailure();
  });
}

function applyPatch(doc: Value, patches: readonly Value[], ctx: BuiltinContext): Value | undefined {
  let cur = doc;
  try {
    for (const p of patches) {
      ctx.charge(1);
      if (!(p instanceof RegoObject)) throw new PatchFailure();
      const op = p.get("op");
      const path = p.get("path");
      if (path === undefined) throw new PatchFailure();
      const at = pointer(path);
      switch (op) {
        case "add": {
          const v = p.get("value");
          if (v === undefined) throw new PatchFailure();
          cur = addAt(cur, at, v);
          break;
        }
        case "remove":
          // Removing the root leaves nothing until an "add" at the root replaces it.
          cur = at.length === 0 ? null : removeAt(cur, at);
          break;
        case "replace": {
          const v = p.get("value");
          if (v === undefined) throw new PatchFailure();
          getAt(cur, at);
          cur = at.length === 0 ? v : addAt(removeAt(cur, at), at, v);
          break;
        }
        case "move": {
          const from = p.get("from");
          if (from === undefined) throw new PatchFailure();
          const fp = pointer(from);
          const v = getAt(cur, fp);
          cur = addAt(removeAt(cur, fp), at, v);
          break;
        }
        case "copy": {
          const from = p.get("from");
          if (from === undefined) throw new PatchFailure();
          cur = addAt(cur, at, getAt(cur, pointer(from)));
          break;
        }
        case "test": {
          const v = p.get("value");
          if (v === undefined || !equalValues(getAt(cur, at), v)) throw new PatchFailure();
          break;
        }
        default:
          throw new PatchFailure();
      }
    }
  } catch (e) {
    if (e instanceof PatchFailure) return undefined;
    throw e;
  }
  return cur;
}

function walkValue(v: Value, path: Value[], out: Value[], ctx: BuiltinContext): void {
  ctx.charge(1);
  out.push([path, v]);
  if (Array.isArray(v)) v.forEach((e, i) => walkValue(e, [...path, i], out, ctx));
  else if (v instanceof RegoObject) {
    for (const [k, e] of v.sorted()) walkValue(e, [...path, k], out, ctx);
  } else if (v instanceof RegoSet) {
    for (const e of v.sorted()) walkValue(e, [...path, e], out, ctx);
  }
}

/** The object built-ins. */
export const OBJECT_BUILTINS: readonly Builtin[] = [
  builtin("object.get", 3, (args) => {
    const o = obj(args, 1);
    const key = args[1] as Value;
    const dflt = args[2] as Value;
    if (!Array.isArray(key)) return o.get(key) ?? dflt;
    let cur: Value = o;
    for (const k of key) {
      let next: Value | undefined;
      if (cur instanceof RegoObject) next = cur.get(k);
      else if (Array.isArray(cur) && isNumber(k) && typeof k === "number") next = cur[k];
      else if (cur instanceof RegoSet) next = cur.has(k) ? k : undefined;
      if (next === undefined) return dflt;
      cur = next;
    }
    return cur;
  }),
  builtin("object.keys", 1, (args) => new RegoSet(obj(args, 1).keys())),
  builtin("object.union", 2, (args) => union(obj(args, 1), obj(args, 2))),
  builtin("object.union_n", 1, (args, ctx) => {
    const list = arr(args, 1);
    let out = new RegoObject();
    for (const o of list) {
      if (!(o instanceof RegoObject)) throw operandError(1, o, "array of objects");
      ctx.charge(o.size);
      out = union(out, o);
    }
    return out;
  }),
  builtin("object.remove", 2, (args) => {
    const o = obj(args, 1);
    const drop = new RegoSet(keysOf(args[1] as Value, 2));
    return new RegoObject([...o.entries()].filter(([k]) => !drop.has(k)));
  }),
  builtin("object.filter", 2, (args) => {
    const o = obj(args, 1);
    const keep = new RegoSet(keysOf(args[1] as Value, 2));
    return new RegoObject([...o.entries()].filter(([k]) => keep.has(k)));
  }),
  builtin("json.filter", 2, (args) => {
    const o = obj(args, 1);
    const paths = args[1] as Value;
    if (!Array.isArray(paths) && !(paths instanceof RegoSet)) {
      throw operandError(2, paths, "set", "array");
    }
    return filterValue(o, pathsToObject(Array.isArray(paths) ? paths : paths.sorted(), 2));
  }),
  builtin("json.remove", 2, (args) => {
    const o = obj(args, 1);
    const paths = args[1] as Value;
    if (!Array.isArray(paths) && !(paths instanceof RegoSet)) {
      throw operandError(2, paths, "set", "array");
    }
    return removeValue(o, pathsToObject(Array.isArray(paths) ? paths : paths.sorted(), 2)) ??
      new RegoObject();
  }),
  builtin("json.patch", 2, (args, ctx) => applyPatch(args[0] as Value, arr(args, 2), ctx)),
  builtin("walk", 1, (args, ctx) => {
    const out: Value[] = [];
    walkValue(args[0] as Value, [], out, ctx);
    return out;
  }, { relation: true }),
];
