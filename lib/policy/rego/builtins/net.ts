/**
 * CIDR built-ins: `net.cidr_contains`, `net.cidr_intersects`, `net.cidr_is_valid`,
 * `net.cidr_expand` (bounded: it charges one step per address before building the set) and
 * `net.cidr_merge`. Addresses are parsed as Go's `net.ParseIP`/`net.ParseCIDR` do (IPv4 dotted
 * quads, IPv6 with `::` and an embedded IPv4 tail), held as bigints.
 *
 * @module
 */

import { limitError } from "../errors.ts";
import { RegoSet, type Value } from "../value.ts";
import { type Builtin, builtin, builtinError, operandError, str } from "./registry.ts";

interface Net {
  readonly v6: boolean;
  readonly addr: bigint;
  /** Prefix length. */
  readonly bits: number;
}

/** Largest set `net.cidr_expand` builds. */
const MAX_EXPAND = 1 << 16;

function parseV4(s: string): bigint | undefined {
  const parts = s.split(".");
  if (parts.length !== 4) return undefined;
  let v = 0n;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255 || (p.length > 1 && p[0] === "0")) return undefined;
    v = (v << 8n) | BigInt(p);
  }
  return v;
}

function parseV6(s: string): bigint | undefined {
  if (s.length > 45) return undefined;
  let head = s;
  let tail4: bigint | undefined;
  const lastColon = s.lastIndexOf(":");
  if (s.slice(lastColon + 1).includes(".")) {
    tail4 = parseV4(s.slice(lastColon + 1));
    if (tail4 === undefined) return undefined;
    head = s.slice(0, lastColon + 1) + "0:0";
  }
  const halves = head.split("::");
  if (halves.length > 2) return undefined;
  const groups = (h: string) => (h === "" ? [] : h.split(":"));
  const left = groups(halves[0] as string);
  const right = halves.length === 2 ? groups(halves[1] as string) : [];
  const missing = 8 - left.length - right.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const all = [...left, ...Array(halves.length === 2 ? missing : 0).fill("0"), ...right];
  let v = 0n;
  for (const g of all) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    v = (v << 16n) | BigInt(parseInt(g, 16));
  }
  if (tail4 !== undefined) v = (v >> 32n << 32n) | tail4;
  return v;
}

function parseIp(s: string): { v6: boolean; addr: bigint } | undefined {
  if (s.includes(":")) {
    const a = parseV6(s);
    if (a === undefined) return undefined;
    // IPv4-mapped IPv6 addresses compare as IPv4, as Go's To4() does.
    if (a >> 32n === 0xffffn) return { v6: false, addr: a & 0xffffffffn };
    return { v6: true, addr: a };
  }
  const a = parseV4(s);
  return a === undefined ? undefined : { v6: false, addr: a };
}

function parseCidr(s: string): Net | undefined {
  const slash = s.indexOf("/");
  if (slash < 0) return undefined;
  const ip = parseIp(s.slice(0, slash));
  const b = s.slice(slash + 1);
  if (ip === undefined || !/^\d{1,3}$/.test(b)) return undefined;
  const bits = Number(b);
  const width = ip.v6 ? 128 : 32;
  if (bits > width) return undefined;
  const hostBits = BigInt(width - bits);
  return { v6: ip.v6, addr: (ip.addr >> hostBits) << hostBits, bits };
}

function cidrOrIp(s: string, pos: number): Net {
  const n = parseCidr(s);
  if (n !== undefined) return n;
  const ip = parseIp(s);
  if (ip !== undefined) return { ...ip, bits: ip.v6 ? 128 : 32 };
  throw builtinError(`operand ${pos}: invalid CIDR or IP address: ${JSON.stringify(s)}`);
}

function cidr(s: string, pos: number): Net {
  const n = parseCidr(s);
  if (n === undefined) throw builtinError(`invalid CIDR address: ${s}`);
  void pos;
  return n;
}

function range(n: Net): [bigint, bigint] {
  const host = BigInt((n.v6 ? 128 : 32) - n.bits);
  return [n.addr, n.addr + (1n << host) - 1n];
}

function formatIp(v6: boolean, a: bigint): string {
  if (!v6) return [24n, 16n, 8n, 0n].map((s) => String((a >> s) & 255n)).join(".");
  const groups = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((a >> BigInt(i * 16)) & 0xffffn));
  // RFC 5952: compress the longest run (length >= 2) of zero groups.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(":");
  return hex.slice(0, best).join(":") + "::" + hex.slice(best + bestLen).join(":");
}

/** The smallest list of CIDRs covering [lo, hi]. */
function rangeToCidrs(v6: boolean, lo: bigint, hi: bigint): string[] {
  const width = v6 ? 128 : 32;
  const out: string[] = [];
  let cur = lo;
  while (cur <= hi) {
    let size = 0;
    while (size < width) {
      const block = 1n << BigInt(size + 1);
      if (cur % block !== 0n || cur + block - 1n > hi) break;
      size++;
    }
    out.push(`${formatIp(v6, cur)}/${width - size}`);
    cur += 1n << BigInt(size);
  }
  return out;
}

function strings(v: Value, pos: number): string[] {
  const items = Array.isArray(v) ? v : v instanceof RegoSet ? v.sorted() : undefined;
  if (items === undefined) throw operandError(pos, v, "array", "set");
  return items.map((x) => {
    if (typeof x !== "string") throw operandError(pos, x, "string");
    return x;
  });
}

/** The network built-ins. */
export const NET_BUILTINS: readonly Builtin[] = [
  builtin("net.cidr_contains", 2, (args) => {
    const a = cidr(str(args, 1), 1);
    const b = cidrOrIp(str(args, 2), 2);
    if (a.v6 !== b.v6 || b.bits < a.bits) return false;
    const [lo, hi] = range(a);
    const [blo, bhi] = range(b);
    return blo >= lo && bhi <= hi;
  }),
  builtin("net.cidr_intersects", 2, (args) => {
    const a = cidr(str(args, 1), 1);
    const b = cidr(str(args, 2), 2);
    if (a.v6 !== b.v6) return false;
    const [alo, ahi] = range(a);
    const [blo, bhi] = range(b);
    return alo <= bhi && blo <= ahi;
  }),
  builtin(
    "net.cidr_is_valid",
    1,
    (args) => typeof args[0] === "string" && parseCidr(args[0]) !== undefined,
  ),
  builtin("net.cidr_expand", 1, (args, ctx) => {
    const n = cidr(str(args, 1), 1);
    const [lo, hi] = range(n);
    const count = hi - lo + 1n;
    if (count > BigInt(MAX_EXPAND)) {
      throw limitError(
        `net.cidr_expand: CIDR ${str(args, 1)} has more than ${MAX_EXPAND} addresses`,
      );
    }
    ctx.charge(Number(count));
    const out = new RegoSet();
    for (let a = lo; a <= hi; a++) out.add(formatIp(n.v6, a));
    return out;
  }),
  builtin("net.cidr_merge", 1, (args, ctx) => {
    const list = strings(args[0] as Value, 1);
    ctx.charge(list.length);
    const out = new RegoSet();
    for (const v6 of [false, true]) {
      const ranges = list.map((s) => cidrOrIp(s, 1)).filter((n) => n.v6 === v6).map(range)
        .sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
      let cur: [bigint, bigint] | undefined;
      const merged: [bigint, bigint][] = [];
      for (const r of ranges) {
        if (cur !== undefined && r[0] <= cur[1] + 1n) {
          if (r[1] > cur[1]) cur[1] = r[1];
        } else {
          if (cur !== undefined) merged.push(cur);
          cur = [r[0], r[1]];
        }
      }
      if (cur !== undefined) merged.push(cur);
      for (const [lo, hi] of merged) for (const c of rangeToCidrs(v6, lo, hi)) out.add(c);
    }
    return out;
  }),
];
