import type { Builtin } from "./registry.ts";
export const X509_BUILTINS: readonly Builtin[] = [];
