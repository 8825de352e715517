/**
 * Kubernetes label selectors (`metav1.LabelSelector`): `matchLabels` and `matchExpressions`
 * with the operators `In`, `NotIn`, `Exists` and `DoesNotExist`, all requirements ANDed, as
 * `metav1.LabelSelectorAsSelector` builds and `labels.Selector.Matches` applies them. A
 * ClusterImagePolicy's `match[].selector` picks the workloads it applies to.
 *
 * @module
 */

import { isRecord } from "../util/json.ts";
import { FieldErrors, indexPath, invalidValue, missingField } from "./field_errors.ts";

/** One requirement of a selector. */
export interface LabelRequirement {
  /** The label key. */
  readonly key: string;
  /** How the label is compared. */
  readonly operator: "In" | "NotIn" | "Exists" | "DoesNotExist";
  /** The values `In`/`NotIn` compare with. */
  readonly values: readonly string[];
}

/** A parsed selector: every requirement must hold. An empty selector matches everything. */
export interface LabelSelector {
  /** The requirements, all of which must hold. */
  readonly requirements: readonly LabelRequirement[];
}

const OPERATORS = new Set(["In", "NotIn", "Exists", "DoesNotExist"]);
/** Most labels or expressions in one selector. */
const MAX_REQUIREMENTS = 64;
/** A qualified label key: an optional DNS-subdomain prefix and a name of at most 63 characters. */
const NAME_RE = /^(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)$/;
const PREFIX_RE = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$/;
/** A label value: empty, or a name of at most 63 characters. */
const VALUE_RE = /^(?:|[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)$/;

/** True for a valid label key (`app`, `app.kubernetes.io/name`). */
export function isLabelKey(key: string): boolean {
  const slash = key.indexOf("/");
  if (slash === -1) return NAME_RE.test(key);
  const prefix = key.slice(0, slash);
  return prefix.length <= 253 && PREFIX_RE.test(prefix) && NAME_RE.test(key.slice(slash + 1));
}

/** True for a valid label value. */
export function isLabelValue(value: string): boolean {
  return VALUE_RE.test(value);
}

/**
 * Parse and check a selector; problems are reported relative to the selector (`matchLabels`,
 * `matchExpressions[0].operator`) and no selector is returned when there is one.
 */
export function parseLabelSelector(
  raw: unknown,
): { selector?: LabelSelector; errors: FieldErrors } {
  const errors = new FieldErrors();
  if (!isRecord(raw)) {
    errors.add(invalidValue(raw, "", "a label selector must be an object"));
    return { errors };
  }
  const requirements: LabelRequirement[] = [];
  for (const field of Object.keys(raw)) {
    if (field !== "matchLabels" && field !== "matchExpressions") {
      errors.add({ message: "must not set the field(s)", paths: [field], level: "error" });
    }
  }
  const labels = raw.matchLabels;
  if (labels !== undefined && labels !== null) {
    if (!isRecord(labels)) {
      errors.add(invalidValue(labels, "matchLabels", "expected a map of label keys to values"));
    } else {
      const entries = Object.entries(labels);
      if (entries.length > MAX_REQUIREMENTS) {
        errors.add(invalidValue(entries.length, "matchLabels", `more than ${MAX_REQUIREMENTS}`));
      }
      for (const [key, value] of entries.slice(0, MAX_REQUIREMENTS)) {
        const path = `matchLabels.${key}`;
        if (!isLabelKey(key)) errors.add(invalidValue(key, path, "not a valid label key"));
        if (typeof value !== "string" || !isLabelValue(value)) {
          errors.add(invalidValue(value, path, "not a valid label value"));
        } else {
          requirements.push({ key, operator: "In", values: [value] });
        }
      }
    }
  }
  const expressions = raw.matchExpressions;
  if (expressions !== undefined && expressions !== null) {
    if (!Array.isArray(expressions)) {
      errors.add(invalidValue(expressions, "matchExpressions", "expected a list"));
    } else if (expressions.length > MAX_REQUIREMENTS) {
      errors.add(
        invalidValue(expressions.length, "matchExpressions", `more than ${MAX_REQUIREMENTS}`),
      );
    } else {
      expressions.forEach((expression, index) => {
        const requirement = parseRequirement(
          expression,
          errors,
          indexPath("matchExpressions", index),
        );
        if (requirement) requirements.push(requirement);
      });
    }
  }
  return errors.hasErrors ? { errors } : { selector: { requirements }, errors };
}

function parseRequirement(
  raw: unknown,
  errors: FieldErrors,
  path: string,
): LabelRequirement | undefined {
  if (!isRecord(raw)) {
    errors.add(invalidValue(raw, path, "expected an object"));
    return undefined;
  }
  const local = new FieldErrors();
  for (const field of Object.keys(raw)) {
    if (field !== "key" && field !== "operator" && field !== "values") {
      local.add({ message: "must not set the field(s)", paths: [field], level: "error" });
    }
  }
  const { key, operator, values } = raw;
  if (key === undefined || key === "") local.add(missingField("key"));
  else if (typeof key !== "string" || !isLabelKey(key)) {
    local.add(invalidValue(key, "key", "not a valid label key"));
  }
  if (operator === undefined || operator === "") local.add(missingField("operator"));
  else if (typeof operator !== "string" || !OPERATORS.has(operator)) {
    local.add(invalidValue(operator, "operator", "not a valid selector operator"));
  }
  let list: string[] = [];
  if (values !== undefined && values !== null) {
    if (!Array.isArray(values) || values.length > MAX_REQUIREMENTS) {
      local.add(invalidValue(values, "values", `expected a list of at most ${MAX_REQUIREMENTS}`));
    } else if (!values.every((v): v is string => typeof v === "string" && isLabelValue(v))) {
      local.add(invalidValue(values, "values", "not valid label values"));
    } else {
      list = values;
    }
  }
  if (operator === "In" || operator === "NotIn") {
    if (list.length === 0) {
      local.add(
        invalidValue(list, "values", "must be specified when `operator` is 'In' or 'NotIn'"),
      );
    }
  } else if (operator === "Exists" || operator === "DoesNotExist") {
    if (list.length > 0) {
      local.add(
        invalidValue(
          list,
          "values",
          "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
        ),
      );
    }
  }
  errors.merge(local, path);
  if (local.hasErrors) return undefined;
  return { key: key as string, operator: operator as LabelRequirement["operator"], values: list };
}

/**
 * Whether `labels` satisfy every requirement (`labels.Selector.Matches`): `In` needs the key
 * with one of the values, `NotIn` the key absent or with another value, `Exists` the key,
 * `DoesNotExist` its absence.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { matchesLabels, parseLabelSelector } from "./labels.ts";
 *
 * const { selector } = parseLabelSelector({ matchLabels: { match: "match" } });
 * assert.ok(matchesLabels(selector!, { match: "match", app: "demo" }));
 * assert.ok(!matchesLabels(selector!, { app: "demo" }));
 * ```
 */
export function matchesLabels(
  selector: LabelSelector,
  labels: Readonly<Record<string, string>>,
): boolean {
  return selector.requirements.every((r) => {
    const has = Object.hasOwn(labels, r.key);
    const value = has ? labels[r.key] : undefined;
    switch (r.operator) {
      case "In":
        return has && r.values.includes(value!);
      case "NotIn":
        return !has || !r.values.includes(value!);
      case "Exists":
        return has;
      case "DoesNotExist":
        return !has;
    }
  });
}
