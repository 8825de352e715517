/**
 * The built-in table of the engine, and the OPA built-ins it knows of but does not implement
 * (a policy calling one fails to compile with POLICY_BUILTIN_UNSUPPORTED, naming it, rather than
 * evaluating to undefined).
 *
 * @module
 */

import { COLLECTION_BUILTINS } from "./collections.ts";
import { ENCODING_BUILTINS } from "./encoding.ts";
import { NET_BUILTINS } from "./net.ts";
import { NUMBER_BUILTINS } from "./numbers.ts";
import { OBJECT_BUILTINS } from "./objects.ts";
import { REGEX_BUILTINS } from "./regex.ts";
import type { Builtin, BuiltinTable } from "./registry.ts";
import { SEMVER_UNITS_BUILTINS } from "./semver_units.ts";
import { STRING_BUILTINS } from "./strings.ts";
import { TIME_BUILTINS } from "./time.ts";
import { X509_BUILTINS } from "./x509.ts";

/** Every implemented built-in, by name. */
export const BUILTINS: BuiltinTable = new Map<string, Builtin>(
  [
    ...COLLECTION_BUILTINS,
    ...NUMBER_BUILTINS,
    ...STRING_BUILTINS,
    ...REGEX_BUILTINS,
    ...OBJECT_BUILTINS,
    ...ENCODING_BUILTINS,
    ...TIME_BUILTINS,
    ...SEMVER_UNITS_BUILTINS,
    ...NET_BUILTINS,
    ...X509_BUILTINS,
  ].map((b) => [b.name, b]),
);

/** OPA 1.x built-in names (capabilities), for telling "unsupported" from "undefined". */
const OPA_BUILTINS = [
  "cast_array",
  "cast_boolean",
  "cast_null",
  "cast_object",
  "cast_set",
  "cast_string",
  "crypto.hmac.equal",
  "crypto.hmac.md5",
  "crypto.hmac.sha1",
  "crypto.hmac.sha256",
  "crypto.hmac.sha512",
  "crypto.md5",
  "crypto.parse_private_keys",
  "crypto.sha1",
  "crypto.sha256",
  "crypto.x509.parse_and_verify_certificates",
  "crypto.x509.parse_and_verify_certificates_with_options",
  "crypto.x509.parse_certificate_request",
  "crypto.x509.parse_certificates",
  "crypto.x509.parse_keypair",
  "crypto.x509.parse_rsa_private_key",
  "graph.reachable",
  "graph.reachable_paths",
  "graphql.is_valid",
  "graphql.parse",
  "graphql.parse_and_verify",
  "graphql.parse_query",
  "graphql.parse_schema",
  "graphql.schema_is_valid",
  "http.send",
  "io.jwt.decode",
  "io.jwt.decode_verify",
  "io.jwt.encode_sign",
  "io.jwt.encode_sign_raw",
  "io.jwt.verify_eddsa",
  "io.jwt.verify_es256",
  "io.jwt.verify_es384",
  "io.jwt.verify_es512",
  "io.jwt.verify_hs256",
  "io.jwt.verify_hs384",
  "io.jwt.verify_hs512",
  "io.jwt.verify_ps256",
  "io.jwt.verify_ps384",
  "io.jwt.verify_ps512",
  "io.jwt.verify_rs256",
  "io.jwt.verify_rs384",
  "io.jwt.verify_rs512",
  "json.match_schema",
  "json.verify_schema",
  "net.cidr_contains_matches",
  "net.cidr_overlap",
  "net.lookup_ip_addr",
  "object.subset",
  "opa.runtime",
  "providers.aws.sign_req",
  "regex.globs_match",
  "regex.template_match",
  "rego.metadata.chain",
  "rego.metadata.rule",
  "rego.parse_module",
  "strings.render_template",
  "time.now_ns",
  "uuid.parse",
  "uuid.rfc4122",
  "units.parse",
  "units.parse_bytes",
  "walk",
  "yaml.is_valid",
  "yaml.marshal",
  "yaml.unmarshal",
];

/** OPA built-ins that this engine does not implement. */
export const UNSUPPORTED_BUILTINS: ReadonlySet<string> = new Set(
  OPA_BUILTINS.filter((n) => !BUILTINS.has(n)),
);
