/**
 * Go's `time` package, the parts OPA's time built-ins use: layouts (the reference time
 * `Mon Jan 2 15:04:05 MST 2006`) for parsing and formatting, `ParseDuration`, `AddDate`
 * normalization, and time zones (IANA names through `Intl`, so no tz database is bundled).
 *
 * Instants are nanoseconds since the Unix epoch as `bigint`, so the whole int64 range OPA
 * supports (years 1677-2262) is exact; civil dates use Howard Hinnant's day algorithms.
 *
 * @module
 */

/** A parse or range failure; the built-ins turn it into an `eval_builtin_error`. */
export class GoTimeError extends Error {}

export const NS_PER_SEC = 1_000_000_000n;
const NS_PER_DAY = 86_400n * NS_PER_SEC;
export const INT64_MIN = -(1n << 63n);
export const INT64_MAX = (1n << 63n) - 1n;

/** Days since 1970-01-01 of a proleptic Gregorian date (month 1-12, day may overflow). */
export function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const mp = (m + 9) % 12;
  const doy = Math.floor((153 * mp + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** The date of a day count since 1970-01-01. */
export function civilFromDays(z: number): { year: number; month: number; day: number } {
  const zz = z + 719468;
  const era = Math.floor(zz / 146097);
  const doe = zz - era * 146097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return (a % b !== 0n && (a < 0n) !== (b < 0n)) ? q - 1n : q;
}

/** A civil date and time, what Go's `time.Date` takes (fields may overflow). */
export interface CivilFields {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  nanos: number;
}

/** Wall-clock fields of an instant at a UTC offset (seconds). */
export interface Civil extends CivilFields {
  /** 0 = Sunday. */
  weekday: number;
  /** Day of the year, 1-based. */
  yday: number;
}

/** The civil fields of `ns` at `offset` seconds east of UTC. */
export function toCivil(ns: bigint, offset: number): Civil {
  const local = ns + BigInt(offset) * NS_PER_SEC;
  const days = floorDiv(local, NS_PER_DAY);
  const rem = local - days * NS_PER_DAY;
  const secs = Number(rem / NS_PER_SEC);
  const { year, month, day } = civilFromDays(Number(days));
  const d = Number(days);
  return {
    year,
    month,
    day,
    hour: Math.floor(secs / 3600),
    minute: Math.floor(secs / 60) % 60,
    second: secs % 60,
    nanos: Number(rem % NS_PER_SEC),
    weekday: ((d % 7) + 11) % 7,
    yday: d - daysFromCivil(year, 1, 1) + 1,
  };
}

/** Nanoseconds of civil fields at an offset (fields may overflow, as Go's `time.Date`). */
export function fromCivil(c: CivilFields, offset: number): bigint {
  // Normalize the month into the year first (Go: time.Date normalizes month, then day).
  const m0 = c.month - 1;
  const year = c.year + Math.floor(m0 / 12);
  const month = ((m0 % 12) + 12) % 12 + 1;
  const days = BigInt(daysFromCivil(year, month, 1) + c.day - 1);
  const secs = BigInt(c.hour) * 3600n + BigInt(c.minute) * 60n + BigInt(c.second) - BigInt(offset);
  return days * NS_PER_DAY + secs * NS_PER_SEC + BigInt(c.nanos);
}

// ---- time zones ----

/** A time zone: UTC, a fixed offset, or an IANA zone. */
export interface Zone {
  readonly name: string;
  /** Offset in seconds east of UTC at an instant, and the zone abbreviation. */
  readonly at: (ns: bigint) => { offset: number; abbrev: string };
}

export const UTC: Zone = { name: "UTC", at: () => ({ offset: 0, abbrev: "UTC" }) };

const zoneCache = new Map<string, Zone>();

/** Resolve `""`/`"UTC"`, `"Local"` or an IANA zone name. Throws GoTimeError for unknown zones. */
export function loadZone(name: string): Zone {
  if (name === "" || name === "UTC") return UTC;
  const cached = zoneCache.get(name);
  if (cached !== undefined) return cached;
  const tz = name === "Local" ? Intl.DateTimeFormat().resolvedOptions().timeZone : name;
  let fmt: Intl.DateTimeFormat;
  let abbr: Intl.DateTimeFormat;
  try {
    fmt = new Intl.DateTimeFormat("en-US", {
      timeZone: tz,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    abbr = new Intl.DateTimeFormat("en-US", { timeZone: tz, timeZoneName: "short" });
  } catch {
    throw new GoTimeError(`unknown time zone ${name}`);
  }
  const zone: Zone = {
    name,
    at: (ns) => {
      const ms = Number(floorDiv(ns, 1_000_000n));
      const sec = Math.floor(ms / 1000) * 1000;
      const parts = fmt.formatToParts(new Date(sec));
      const get = (t: string) => Number(parts.find((p) => p.type === t)?.value ?? "0");
      const local = Date.UTC(
        get("year"),
        get("month") - 1,
        get("day"),
        get("hour"),
        get("minute"),
        get("second"),
      );
      // Years before 100 are mapped to 19xx by Date.UTC: correct them.
      const y = get("year");
      const fixed = y < 100 ? new Date(local).setUTCFullYear(y) : local;
      const offset = Math.round((fixed - sec) / 1000);
      let ab = abbr.formatToParts(new Date(sec)).find((p) => p.type === "timeZoneName")?.value ??
        "";
      if (!/^[A-Z]{3,5}$/.test(ab)) ab = formatOffset(offset, false, false, "");
      return { offset, abbrev: ab };
    },
  };
  zoneCache.set(name, zone);
  return zone;
}

function formatOffset(offset: number, colon: boolean, withSeconds: boolean, zulu: string): string {
  if (offset === 0 && zulu !== "") return zulu;
  const sign = offset < 0 ? "-" : "+";
  const a = Math.abs(offset);
  const h = String(Math.floor(a / 3600)).padStart(2, "0");
  const m = String(Math.floor(a / 60) % 60).padStart(2, "0");
  const s = String(a % 60).padStart(2, "0");
  const sep = colon ? ":" : "";
  return sign + h + sep + m + (withSeconds ? sep + s : "");
}

// ---- layouts ----

const LAYOUTS: Record<string, string> = {
  ANSIC: "Mon Jan _2 15:04:05 2006",
  UnixDate: "Mon Jan _2 15:04:05 MST 2006",
  RubyDate: "Mon Jan 02 15:04:05 -0700 2006",
  RFC822: "02 Jan 06 15:04 MST",
  RFC822Z: "02 Jan 06 15:04 -0700",
  RFC850: "Monday, 02-Jan-06 15:04:05 MST",
  RFC1123: "Mon, 02 Jan 2006 15:04:05 MST",
  RFC1123Z: "Mon, 02 Jan 2006 15:04:05 -0700",
  RFC3339: "2006-01-02T15:04:05Z07:00",
  RFC3339Nano: "2006-01-02T15:04:05.999999999Z07:00",
  Kitchen: "3:04PM",
  Stamp: "Jan _2 15:04:05",
  StampMilli: "Jan _2 15:04:05.000",
  StampMicro: "Jan _2 15:04:05.000000",
  StampNano: "Jan _2 15:04:05.000000000",
  DateTime: "2006-01-02 15:04:05",
  DateOnly: "2006-01-02",
  TimeOnly: "15:04:05",
};

/** A layout name (`RFC3339`, `ANSIC`, ...) or the layout itself. */
export function resolveLayout(layout: string): string {
  return LAYOUTS[layout] ?? layout;
}

const MONTHS = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];
const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

/** The weekday name (0 = Sunday). */
export function weekdayName(d: number): string {
  return DAYS[d] as string;
}

type Chunk =
  | { kind: "lit"; text: string }
  | { kind: "std"; std: string }
  | { kind: "frac"; digits: number; trim: boolean; sep: string };

const STD = [
  "January",
  "Jan",
  "Monday",
  "Mon",
  "MST",
  "2006",
  "Z07:00:00",
  "-07:00:00",
  "Z07:00",
  "-07:00",
  "Z0700",
  "-0700",
  "Z07",
  "-07",
  "01",
  "02",
  "03",
  "04",
  "05",
  "06",
  "002",
  "__2",
  "_2",
  "15",
  "1",
  "2",
  "3",
  "4",
  "5",
  "PM",
  "pm",
];

/** Split a layout into literal text and standard chunks (Go's `nextStdChunk`). */
function chunks(layout: string): Chunk[] {
  const out: Chunk[] = [];
  let lit = "";
  let i = 0;
  const flush = () => {
    if (lit !== "") out.push({ kind: "lit", text: lit });
    lit = "";
  };
  while (i < layout.length) {
    const c = layout[i] as string;
    if ((c === "." || c === ",") && (layout[i + 1] === "0" || layout[i + 1] === "9")) {
      const d = layout[i + 1] as string;
      let j = i + 1;
      while (layout[j] === d) j++;
      // Only a fraction when the run of digits ends here (".000" but not ".0001").
      if (!/\d/.test(layout[j] ?? "")) {
        flush();
        out.push({ kind: "frac", digits: j - i - 1, trim: d === "9", sep: c });
        i = j;
        continue;
      }
    }
    let matched: string | undefined;
    for (const s of STD) {
      if (layout.startsWith(s, i)) {
        // "Jan"/"Mon" followed by a lower-case letter are text ("Janet"), as in Go.
        if ((s === "Mon" || s === "Jan") && /[a-z]/.test(layout[i + s.length] ?? "")) continue;
        matched = s;
        break;
      }
    }
    if (matched !== undefined) {
      flush();
      out.push({ kind: "std", std: matched });
      i += matched.length;
      continue;
    }
    lit += c;
    i++;
  }
  flush();
  return out;
}

const p2 = (n: number) => String(n).padStart(2, "0");
const hour12 = (hour: number) => hour % 12 === 0 ? 12 : hour % 12;

/** How `Time.Format` writes each standard chunk, from the civil fields, offset and zone name. */
const FORMAT: Readonly<Record<string, (c: Civil, offset: number, abbrev: string) => string>> = {
  January: (c) => MONTHS[c.month - 1] as string,
  Jan: (c) => (MONTHS[c.month - 1] as string).slice(0, 3),
  Monday: (c) => DAYS[c.weekday] as string,
  Mon: (c) => (DAYS[c.weekday] as string).slice(0, 3),
  MST: (_c, _offset, abbrev) => abbrev,
  "2006": (c) => (c.year < 0 ? "-" : "") + String(Math.abs(c.year)).padStart(4, "0"),
  "06": (c) => p2(((c.year % 100) + 100) % 100),
  "01": (c) => p2(c.month),
  "1": (c) => String(c.month),
  "02": (c) => p2(c.day),
  "_2": (c) => String(c.day).padStart(2, " "),
  "2": (c) => String(c.day),
  "002": (c) => String(c.yday).padStart(3, "0"),
  "__2": (c) => String(c.yday).padStart(3, " "),
  "15": (c) => p2(c.hour),
  "03": (c) => p2(hour12(c.hour)),
  "3": (c) => String(hour12(c.hour)),
  "04": (c) => p2(c.minute),
  "4": (c) => String(c.minute),
  "05": (c) => p2(c.second),
  "5": (c) => String(c.second),
  PM: (c) => c.hour >= 12 ? "PM" : "AM",
  pm: (c) => c.hour >= 12 ? "pm" : "am",
  "Z07:00": (_c, offset) => formatOffset(offset, true, false, "Z"),
  "-07:00": (_c, offset) => formatOffset(offset, true, false, ""),
  Z0700: (_c, offset) => formatOffset(offset, false, false, "Z"),
  "-0700": (_c, offset) => formatOffset(offset, false, false, ""),
  Z07: (_c, offset) => formatOffset(offset, false, false, "Z").slice(0, offset === 0 ? 1 : 3),
  "-07": (_c, offset) => formatOffset(offset, false, false, "").slice(0, 3),
  "Z07:00:00": (_c, offset) => formatOffset(offset, true, true, "Z"),
  "-07:00:00": (_c, offset) => formatOffset(offset, true, true, ""),
};

/** Format `ns` in `zone` with a Go layout. */
export function formatTime(ns: bigint, zone: Zone, layout: string): string {
  const { offset, abbrev } = zone.at(ns);
  const c = toCivil(ns, offset);
  let out = "";
  for (const ch of chunks(resolveLayout(layout))) {
    if (ch.kind === "lit") {
      out += ch.text;
    } else if (ch.kind === "frac") {
      let digits = String(c.nanos).padStart(9, "0").slice(0, ch.digits);
      if (ch.trim) digits = digits.replace(/0+$/, "");
      if (digits !== "") out += ch.sep + digits;
    } else {
      out += FORMAT[ch.std]?.(c, offset, abbrev) ?? "";
    }
  }
  return out;
}

/** The fields `time.Parse` fills, with Go's defaults (January 1 of year 1, midnight). */
interface ParsedFields extends CivilFields {
  /** Day of the year, -1 when the layout has none. */
  yday: number;
}

/**
 * The standard chunks `time.Parse` reads as plain decimal numbers: the field, the fewest and
 * most digits, and the spaces a padded form (`_2`, `__2`) may start with.
 */
const PARSE_NUMBERS: Readonly<
  Record<string, readonly [keyof ParsedFields, number, number, RegExp?]>
> = {
  "2006": ["year", 4, 4],
  "01": ["month", 2, 2],
  "1": ["month", 1, 2],
  "02": ["day", 2, 2],
  "_2": ["day", 1, 2, /^ /],
  "2": ["day", 1, 2],
  "002": ["yday", 3, 3],
  "__2": ["yday", 1, 3, /^ {1,2}/],
  "15": ["hour", 1, 2],
  "03": ["hour", 2, 2],
  "3": ["hour", 1, 2],
  "04": ["minute", 2, 2],
  "4": ["minute", 1, 2],
  "05": ["second", 2, 2],
  "5": ["second", 1, 2],
};

/** Nanoseconds of the digits after a decimal separator (beyond nine are dropped). */
function fractionNanos(digits: string): number {
  return Number(digits.slice(0, 9).padEnd(9, "0"));
}

/** Parse `value` with a Go layout (`time.Parse`): nanoseconds since the epoch. */
export function parseTime(layout: string, value: string): bigint {
  const fullLayout = resolveLayout(layout);
  const fail = (what: string): never => {
    throw new GoTimeError(
      `parsing time ${JSON.stringify(value)} as ${
        JSON.stringify(fullLayout)
      }: cannot parse ${what}`,
    );
  };
  const f: ParsedFields = {
    year: 1,
    month: 1,
    day: 1,
    hour: 0,
    minute: 0,
    second: 0,
    nanos: 0,
    yday: -1,
  };
  let pm: boolean | undefined;
  let offset = 0;
  let v = value;
  /** Fail on the text left, read as `what`. */
  const failAt = (what: string): never => fail(`${JSON.stringify(v)} as ${JSON.stringify(what)}`);
  const num = (min: number, max: number, what: string): number => {
    const m = new RegExp(`^\\d{${min},${max}}`).exec(v) ?? failAt(what);
    v = v.slice(m[0].length);
    return Number(m[0]);
  };
  const word = (names: string[], len: number | undefined, what: string): number => {
    for (let i = 0; i < names.length; i++) {
      const n = len === undefined ? names[i] as string : (names[i] as string).slice(0, len);
      if (v.slice(0, n.length).toLowerCase() === n.toLowerCase()) {
        v = v.slice(n.length);
        return i;
      }
    }
    return failAt(what);
  };
  const list = chunks(fullLayout);
  for (let ci = 0; ci < list.length; ci++) {
    const ch = list[ci] as Chunk;
    if (ch.kind === "lit") {
      if (!v.startsWith(ch.text)) failAt(ch.text);
      v = v.slice(ch.text.length);
      continue;
    }
    if (ch.kind === "frac") {
      if (ch.trim) {
        if (v[0] !== "." && v[0] !== ",") continue;
      } else if (v[0] !== ch.sep) {
        failAt(ch.sep + "0".repeat(ch.digits));
      }
      const m = (ch.trim ? /^[.,](\d+)/ : new RegExp(`^[.,](\\d{${ch.digits}})`)).exec(v) ??
        fail(`${JSON.stringify(v)} as fraction`);
      f.nanos = fractionNanos(m[1] as string);
      v = v.slice(m[0].length);
      continue;
    }
    const numeric = PARSE_NUMBERS[ch.std];
    if (numeric !== undefined) {
      const [field, min, max, padding] = numeric;
      if (padding !== undefined) v = v.replace(padding, "");
      f[field] = num(min, max, ch.std);
      // Go accepts a fraction after the seconds even when the layout has none.
      if (field === "second" && list[ci + 1]?.kind !== "frac" && /^[.,]\d/.test(v)) {
        const m = /^[.,](\d+)/.exec(v) as RegExpExecArray;
        f.nanos = fractionNanos(m[1] as string);
        v = v.slice(m[0].length);
      }
      continue;
    }
    switch (ch.std) {
      case "06": {
        const yy = num(2, 2, "06");
        f.year = yy >= 69 ? 1900 + yy : 2000 + yy;
        break;
      }
      case "January":
        f.month = word(MONTHS, undefined, "January") + 1;
        break;
      case "Jan":
        f.month = word(MONTHS, 3, "Jan") + 1;
        break;
      case "Monday":
        word(DAYS, undefined, "Monday");
        break;
      case "Mon":
        word(DAYS, 3, "Mon");
        break;
      case "PM":
      case "pm": {
        const t = v.slice(0, 2).toUpperCase();
        if (t !== "AM" && t !== "PM") failAt("PM");
        pm = t === "PM";
        v = v.slice(2);
        break;
      }
      case "MST": {
        const m = /^[A-Z]{3,5}/.exec(v) ?? failAt("MST");
        v = v.slice(m[0].length);
        offset = 0;
        break;
      }
      default: {
        // Numeric zones, with "Z" allowed for the Z-forms.
        if (ch.std.startsWith("Z") && v[0] === "Z") {
          v = v.slice(1);
          offset = 0;
          break;
        }
        const colon = ch.std.includes(":");
        const withSec = ch.std.endsWith(":00:00");
        const short = ch.std === "Z07" || ch.std === "-07";
        const re = short
          ? /^([+-])(\d{2})/
          : colon
          ? (withSec ? /^([+-])(\d{2}):(\d{2}):(\d{2})/ : /^([+-])(\d{2}):(\d{2})/)
          : /^([+-])(\d{2})(\d{2})/;
        const m = re.exec(v) ?? failAt(ch.std);
        const secs = Number(m[2]) * 3600 + Number(m[3] ?? "0") * 60 + Number(m[4] ?? "0");
        offset = m[1] === "-" ? -secs : secs;
        v = v.slice(m[0].length);
      }
    }
  }
  const invalid = (what: string): never => {
    throw new GoTimeError(`parsing time ${JSON.stringify(value)}: ${what}`);
  };
  if (v !== "") invalid(`extra text: ${JSON.stringify(v)}`);
  if (pm !== undefined) {
    if (f.hour > 12) invalid("hour out of range");
    if (pm && f.hour < 12) f.hour += 12;
    if (!pm && f.hour === 12) f.hour = 0;
  }
  if (f.yday >= 0) {
    const c = civilFromDays(daysFromCivil(f.year, 1, 1) + f.yday - 1);
    f.month = c.month;
    f.day = c.day;
  }
  if (f.month < 1 || f.month > 12) invalid("month out of range");
  const dim = civilFromDays(daysFromCivil(f.year, f.month + 1, 1) - 1).day;
  if (f.day < 1 || f.day > dim) invalid("day out of range");
  if (f.hour > 23 || f.minute > 59 || f.second > 59) invalid("time out of range");
  return fromCivil(f, offset);
}

/** Go's `time.ParseDuration`, exactly, in nanoseconds. */
export function parseDuration(s: string): bigint {
  const fail = (): never => {
    throw new GoTimeError(`time: invalid duration ${JSON.stringify(s)}`);
  };
  let rest = s;
  let neg = false;
  if (rest[0] === "-" || rest[0] === "+") {
    neg = rest[0] === "-";
    rest = rest.slice(1);
  }
  if (rest === "0") return 0n;
  if (rest === "") fail();
  const units: Record<string, bigint> = {
    ns: 1n,
    us: 1000n,
    "µs": 1000n,
    "μs": 1000n,
    ms: 1_000_000n,
    s: NS_PER_SEC,
    m: 60n * NS_PER_SEC,
    h: 3600n * NS_PER_SEC,
  };
  let total = 0n;
  while (rest !== "") {
    const m = /^(\d*)(?:\.(\d*))?([^\d.]+)/.exec(rest);
    if (m === null) return fail();
    const [all, int = "", frac = "", unit = ""] = m;
    if (int === "" && frac === "") fail();
    const u = units[unit];
    if (u === undefined) {
      throw new GoTimeError(
        `time: unknown unit ${JSON.stringify(unit)} in duration ${JSON.stringify(s)}`,
      );
    }
    const f = frac.slice(0, 30);
    total += BigInt(int === "" ? "0" : int) * u +
      (f === "" ? 0n : (BigInt(f) * u) / 10n ** BigInt(f.length));
    if (total > INT64_MAX + 1n) fail();
    rest = rest.slice(all.length);
  }
  if (!neg && total > INT64_MAX) fail();
  return neg ? -total : total;
}

/** Check that `ns` is an int64 (OPA: "time outside of valid range"). */
export function checkRange(ns: bigint): bigint {
  if (ns < INT64_MIN || ns > INT64_MAX) throw new GoTimeError("time outside of valid range");
  return ns;
}
