import type { Builtin } from "./registry.ts";
export const REGEX_BUILTINS: readonly Builtin[] = [];
