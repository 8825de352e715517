import type { Builtin } from "./registry.ts";
export const OBJECT_BUILTINS: readonly Builtin[] = [];
