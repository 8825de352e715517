/**
 * Time built-ins (`time.*`), over the Go `time` semantics of `_go_time.ts`: nanosecond
 * timestamps as exact integers, Go layouts (and their names, `RFC3339`, `RFC1123Z`, ...) for
 * `time.parse_ns`/`time.format`, IANA time zones, and `time.now_ns` from the evaluation's
 * injectable clock (one value per evaluation, as OPA caches it).
 *
 * @module
 */

import { isNumber, normalizeNumber, toBigInt, type Value } from "../value.ts";
import {
  checkRange,
  civilFromDays,
  daysFromCivil,
  formatTime,
  fromCivil,
  GoTimeError,
  INT64_MAX,
  INT64_MIN,
  loadZone,
  parseDuration,
  parseTime,
  toCivil,
  UTC,
  weekdayName,
  type Zone,
} from "./_go_time.ts";
import { type Builtin, builtin, builtinError, int, operandError, str } from "./registry.ts";

function wrap<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof GoTimeError) throw builtinError(e.message);
    throw e;
  }
}

/** `ns` or `[ns, tz]` or `[ns, tz, layout]`. */
function timeArg(
  args: readonly Value[],
  pos: number,
  allowLayout = false,
): { ns: bigint; zone: Zone; layout?: string } {
  const v = args[pos - 1] as Value;
  let nsv: Value | undefined = v;
  let zone = UTC;
  let layout: string | undefined;
  if (Array.isArray(v)) {
    if (v.length < 2 || v.length > (allowLayout ? 3 : 2)) {
      throw operandError(
        pos,
        v,
        allowLayout
          ? "array[number, string] or array[number, string, string]"
          : "array[number, string]",
      );
    }
    nsv = v[0];
    const tz = v[1];
    if (typeof tz !== "string") throw operandError(pos, tz as Value, "string");
    zone = wrap(() => loadZone(tz));
    if (v.length === 3) {
      const l = v[2];
      if (typeof l !== "string") throw operandError(pos, l as Value, "string");
      layout = l;
    }
  } else if (!isNumber(v)) throw operandError(pos, v, "number", "array");
  if (!isNumber(nsv)) throw operandError(pos, nsv as Value, "number");
  const ns = toBigInt(nsv) ?? BigInt(Math.trunc(nsv as number));
  if (ns > INT64_MAX || ns < INT64_MIN) throw builtinError("timestamp too big");
  return layout === undefined ? { ns, zone } : { ns, zone, layout };
}

function civilOf(args: readonly Value[]) {
  const { ns, zone } = timeArg(args, 1);
  return toCivil(ns, zone.at(ns).offset);
}

/** OPA's `time.diff`: years, months, days, hours, minutes, seconds between two instants. */
function diff(a: { ns: bigint; zone: Zone }, b: { ns: bigint; zone: Zone }): Value[] {
  // Both in the first operand's zone, earlier first.
  const zone = a.zone;
  let [t1, t2] = [a.ns, b.ns];
  if (t1 > t2) [t1, t2] = [t2, t1];
  const c1 = toCivil(t1, zone.at(t1).offset);
  const c2 = toCivil(t2, zone.at(t2).offset);
  let year = c2.year - c1.year;
  let month = c2.month - c1.month;
  let day = c2.day - c1.day;
  let hour = c2.hour - c1.hour;
  let min = c2.minute - c1.minute;
  let sec = c2.second - c1.second;
  if (sec < 0) {
    sec += 60;
    min--;
  }
  if (min < 0) {
    min += 60;
    hour--;
  }
  if (hour < 0) {
    hour += 24;
    day--;
  }
  if (day < 0) {
    // Go: time.Date(y1, M1, 32) normalizes into the next month; 32 minus its day is the length.
    const overflow = civilFromDays(daysFromCivil(c1.year, c1.month, 1) + 31).day;
    day += 32 - overflow;
    month--;
  }
  if (month < 0) {
    month += 12;
    year--;
  }
  return [year, month, day, hour, min, sec];
}

/** The time built-ins. */
export const TIME_BUILTINS: readonly Builtin[] = [
  builtin("time.now_ns", 0, (_args, ctx) => normalizeNumber(ctx.nowNs()), { volatile: true }),
  builtin("time.parse_ns", 2, (args) => {
    const layout = str(args, 1);
    const value = str(args, 2);
    return normalizeNumber(wrap(() => checkRange(parseTime(layout, value))));
  }),
  builtin("time.parse_rfc3339_ns", 1, (args) => {
    const value = str(args, 1);
    return normalizeNumber(wrap(() => checkRange(parseTime("RFC3339", value))));
  }),
  builtin("time.parse_duration_ns", 1, (args) => {
    const value = str(args, 1);
    return normalizeNumber(wrap(() => parseDuration(value)));
  }),
  builtin("time.date", 1, (args) => {
    const c = civilOf(args);
    return [c.year, c.month, c.day];
  }),
  builtin("time.clock", 1, (args) => {
    const c = civilOf(args);
    return [c.hour, c.minute, c.second];
  }),
  builtin("time.weekday", 1, (args) => weekdayName(civilOf(args).weekday)),
  builtin("time.add_date", 4, (args) => {
    const { ns } = timeArg(args, 1);
    const years = Number(int(args, 2));
    const months = Number(int(args, 3));
    const days = Number(int(args, 4));
    if (!Number.isSafeInteger(years + months + days)) {
      throw builtinError("time outside of valid range");
    }
    const c = toCivil(ns, 0);
    const out = fromCivil({
      ...c,
      year: c.year + years,
      month: c.month + months,
      day: c.day + days,
    }, 0);
    return normalizeNumber(wrap(() => checkRange(out)));
  }),
  builtin("time.diff", 2, (args) => diff(timeArg(args, 1), timeArg(args, 2))),
  builtin("time.format", 1, (args) => {
    const { ns, zone, layout } = timeArg(args, 1, true);
    return wrap(() => formatTime(ns, zone, layout ?? "RFC3339Nano"));
  }),
];
