import type { Builtin } from "./registry.ts";
export const TIME_BUILTINS: readonly Builtin[] = [];
