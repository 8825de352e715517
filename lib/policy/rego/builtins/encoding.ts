import type { Builtin } from "./registry.ts";
export const ENCODING_BUILTINS: readonly Builtin[] = [];
