import type { Builtin } from "./registry.ts";
export const NET_BUILTINS: readonly Builtin[] = [];
