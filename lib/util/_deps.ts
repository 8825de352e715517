/**
 * Third-party code the `lib/util/` helpers use, pinned here and nowhere else (see lib/_deps.ts
 * for why specifiers are full `npm:name@version`).
 *
 * @module
 */

export {
  parseAllDocuments as yamlParseAllDocuments,
  stringify as yamlStringify,
  YAMLError,
} from "npm:yaml@2.9.1";
