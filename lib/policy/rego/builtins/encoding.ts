/**
 * Encoding built-ins: `json.*` (numbers exact: `json.unmarshal` keeps big integers), `base64.*`,
 * `base64url.*`, `hex.*`, `urlquery.*` (Go's `net/url` escaping) and `yaml.*`.
 *
 * Decoded bytes become a string the way Go converts `[]byte` to `string` and then to runes:
 * valid UTF-8 decodes, each byte of an invalid sequence becomes U+FFFD (so `count` agrees with
 * OPA's rune count).
 *
 * @module
 */

import { parseYaml, stringifyYaml } from "../../../util/yaml.ts";
import { BuiltinError } from "../errors.ts";
import {
  fromJson,
  parseNumberLiteral,
  RegoObject,
  RegoSet,
  stringifyJson,
  toJson,
  type Value,
} from "../value.ts";
import { type Builtin, builtin, builtinError, obj, operandError, str } from "./registry.ts";

const encoder = new TextEncoder();

/** Bytes to a string, each byte of an invalid UTF-8 sequence becoming U+FFFD (Go's rune view). */
export function decodeUtf8Lossy(b: Uint8Array): string {
  let out = "";
  let i = 0;
  while (i < b.length) {
    const c = b[i] as number;
    let n = 0;
    let cp = 0;
    let min = 0;
    if (c < 0x80) {
      // Fast path for ASCII runs.
      let j = i;
      while (j < b.length && (b[j] as number) < 0x80) j++;
      out += String.fromCharCode(...b.subarray(i, Math.min(j, i + 4096)));
      i = Math.min(j, i + 4096);
      continue;
    } else if (c >= 0xc2 && c <= 0xdf) {
      n = 1;
      cp = c & 0x1f;
      min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      cp = c & 0x0f;
      min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      cp = c & 0x07;
      min = 0x10000;
    } else {
      out += "\ufffd";
      i++;
      continue;
    }
    let ok = true;
    for (let k = 1; k <= n && ok; k++) {
      const d = b[i + k];
      if (d === undefined || (d & 0xc0) !== 0x80) ok = false;
      else cp = (cp << 6) | (d & 0x3f);
    }
    if (!ok || cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      out += "\ufffd";
      i++;
      continue;
    }
    out += String.fromCodePoint(cp);
    i += n + 1;
  }
  return out;
}

/** Parse JSON exactly: integers beyond 2^53 stay exact. */
export function parseJsonExact(text: string): Value {
  const raw: unknown = JSON.parse(text, function (_key, value, context?: { source?: string }) {
    if (typeof value === "number" && context?.source !== undefined) {
      const exact = parseNumberLiteral(context.source);
      if (exact !== undefined && typeof exact === "bigint") return exact;
    }
    return value;
  });
  return fromJson(raw);
}

function b64decode(s: string, url: boolean): string {
  let text = s;
  if (url && text.length % 4 !== 0 && !text.endsWith("=")) {
    text += "=".repeat(4 - (text.length % 4));
  }
  let bytes: Uint8Array;
  try {
    bytes = Uint8Array.fromBase64(text, {
      alphabet: url ? "base64url" : "base64",
      lastChunkHandling: "strict",
    });
  } catch {
    throw builtinError("illegal base64 data at input byte 0");
  }
  return decodeUtf8Lossy(bytes);
}

/** Go's `url.QueryEscape`. */
function queryEscape(s: string): string {
  let out = "";
  for (const b of encoder.encode(s)) {
    const ch = String.fromCharCode(b);
    if (/[A-Za-z0-9\-_.~]/.test(ch)) out += ch;
    else if (b === 0x20) out += "+";
    else out += "%" + b.toString(16).toUpperCase().padStart(2, "0");
  }
  return out;
}

/** Go's `url.QueryUnescape`. */
function queryUnescape(s: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    if (c === "%") {
      const hex = s.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) {
        throw builtinError(`invalid URL escape ${JSON.stringify(s.slice(i, i + 3))}`);
      }
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else if (c === "+") bytes.push(0x20);
    else bytes.push(...encoder.encode(c));
  }
  return decodeUtf8Lossy(Uint8Array.from(bytes));
}

function marshalWithOptions(v: Value, opts: RegoObject): string {
  let pretty: boolean | undefined;
  let indent: string | undefined;
  let prefix: string | undefined;
  for (const [k, o] of opts.entries()) {
    switch (k) {
      case "pretty":
        if (typeof o !== "boolean") throw operandError(2, o, "boolean");
        pretty = o;
        break;
      case "indent":
        if (typeof o !== "string") throw operandError(2, o, "string");
        indent = o;
        break;
      case "prefix":
        if (typeof o !== "string") throw operandError(2, o, "string");
        prefix = o;
        break;
      default:
        throw new BuiltinError(
          "eval_type_error",
          `object contained unknown key ${JSON.stringify(k)}`,
        );
    }
  }
  const json = toJson(v);
  if (pretty === false || (pretty === undefined && indent === undefined && prefix === undefined)) {
    return stringifyJson(json);
  }
  const p = prefix ?? "";
  return p + stringifyJson(json, { indent: indent ?? "\t", prefix: p });
}

/** The encoding built-ins. */
export const ENCODING_BUILTINS: readonly Builtin[] = [
  builtin("json.marshal", 1, (args) => stringifyJson(toJson(args[0] as Value))),
  builtin(
    "json.marshal_with_options",
    2,
    (args) => marshalWithOptions(args[0] as Value, obj(args, 2)),
  ),
  builtin("json.unmarshal", 1, (args) => {
    const s = str(args, 1);
    try {
      return parseJsonExact(s);
    } catch (e) {
      throw builtinError(`json: ${e instanceof Error ? e.message : String(e)}`);
    }
  }),
  builtin("json.is_valid", 1, (args) => {
    const s = args[0];
    if (typeof s !== "string") return false;
    try {
      JSON.parse(s);
      return true;
    } catch {
      return false;
    }
  }),
  builtin("base64.encode", 1, (args) => encoder.encode(str(args, 1)).toBase64()),
  builtin("base64.decode", 1, (args) => b64decode(str(args, 1), false)),
  builtin("base64.is_valid", 1, (args) => {
    const s = args[0];
    if (typeof s !== "string") return false;
    try {
      Uint8Array.fromBase64(s, { lastChunkHandling: "strict" });
      return true;
    } catch {
      return false;
    }
  }),
  builtin(
    "base64url.encode",
    1,
    (args) => encoder.encode(str(args, 1)).toBase64({ alphabet: "base64url" }),
  ),
  builtin(
    "base64url.encode_no_pad",
    1,
    (args) => encoder.encode(str(args, 1)).toBase64({ alphabet: "base64url", omitPadding: true }),
  ),
  builtin("base64url.decode", 1, (args) => b64decode(str(args, 1), true)),
  builtin("hex.encode", 1, (args) => encoder.encode(str(args, 1)).toHex()),
  builtin("hex.decode", 1, (args) => {
    const s = str(args, 1);
    if (s.length % 2 !== 0) throw builtinError("encoding/hex: odd length hex string");
    try {
      return decodeUtf8Lossy(Uint8Array.fromHex(s));
    } catch {
      throw builtinError("encoding/hex: invalid byte");
    }
  }),
  builtin("urlquery.encode", 1, (args) => queryEscape(str(args, 1))),
  builtin("urlquery.decode", 1, (args) => queryUnescape(str(args, 1))),
  builtin("urlquery.encode_object", 1, (args) => {
    const o = obj(args, 1);
    const parts: string[] = [];
    for (const [k, v] of o.sorted()) {
      if (typeof k !== "string") throw operandError(1, k, "object[string: string|array|set]");
      const vals = typeof v === "string"
        ? [v]
        : Array.isArray(v)
        ? v
        : v instanceof RegoSet
        ? v.sorted()
        : undefined;
      if (vals === undefined) throw operandError(1, v, "object[string: string|array|set]");
      for (const x of vals) {
        if (typeof x !== "string") throw operandError(1, x, "object[string: string|array|set]");
        parts.push(`${queryEscape(k)}=${queryEscape(x)}`);
      }
    }
    return parts.join("&");
  }),
  builtin("urlquery.decode_object", 1, (args) => {
    const s = str(args, 1);
    const out = new Map<string, string[]>();
    for (const part of s.split(/[&;]/)) {
      if (part === "") continue;
      const eq = part.indexOf("=");
      const k = queryUnescape(eq < 0 ? part : part.slice(0, eq));
      const v = eq < 0 ? "" : queryUnescape(part.slice(eq + 1));
      const list = out.get(k) ?? [];
      list.push(v);
      out.set(k, list);
    }
    return new RegoObject([...out].map(([k, v]) => [k, v] as [Value, Value]));
  }),
  builtin("yaml.marshal", 1, (args) => stringifyYaml(toJson(args[0] as Value))),
  builtin("yaml.unmarshal", 1, (args) => {
    const s = str(args, 1);
    try {
      return fromJson(parseYaml(s, { intAsBigInt: true, maxBytes: 1 << 22 }) ?? null);
    } catch (e) {
      throw builtinError(`yaml: ${e instanceof Error ? e.message : String(e)}`);
    }
  }),
  builtin("yaml.is_valid", 1, (args) => {
    const s = args[0];
    if (typeof s !== "string") return false;
    try {
      parseYaml(s, { maxBytes: 1 << 22 });
      return true;
    } catch {
      return false;
    }
  }),
];
