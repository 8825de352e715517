import type { Builtin } from "./registry.ts";
export const SEMVER_UNITS_BUILTINS: readonly Builtin[] = [];
