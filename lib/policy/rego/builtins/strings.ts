import type { Builtin } from "./registry.ts";
export const STRING_BUILTINS: readonly Builtin[] = [];
