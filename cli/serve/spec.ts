/**
 * `serve` as plain data: the embedded Sigstore stack (DESIGN.md "The embedded stack").
 * The implementation loads on demand from `serve.ts`.
 *
 * @module
 */

import type { CommandSpec } from "../spec.ts";

/** The `serve` command. */
export const SERVE_COMMANDS: readonly CommandSpec[] = [
  {
    name: "serve",
    summary: "Run the embedded Sigstore stack (registry, Rekor, Fulcio, OIDC issuer, TSA, TUF)",
    description:
      "Run the embedded Sigstore stack on one port: an OCI registry with the referrers\n" +
      "API (/v2/), Rekor (/api/v1/log), Fulcio (/api/v2/signingCert), an OIDC issuer\n" +
      "(/.well-known/openid-configuration, /oauth2/), an RFC 3161 TSA (/api/v1/timestamp)\n" +
      "and a TUF repository (/tuf/) publishing its trusted root and signing config.\n" +
      "State and keys live under --data-dir (memory without it), with trusted_root.json,\n" +
      "signing_config.json and the TUF 1.root.json. When ready, the JSON --ready-file names\n" +
      "every URL (tufMirror, and tufRoot for `dcosign initialize --mirror --root`), those\n" +
      'files, and a one-hour identity token. POST /oauth2/test-token {"identity":ID,"ttl":600}\n' +
      "mints a token for any configured identity. Stops cleanly on SIGINT/SIGTERM.",
    args: { min: 0, max: 0 },
    examples: ["dcosign serve --port 5055 --data-dir ./stack --ready-file ./stack/ready.json"],
    flags: [
      {
        name: "host",
        type: "string",
        value: "ADDRESS",
        default: "127.0.0.1",
        description: "Interface to listen on",
      },
      {
        name: "port",
        type: "integer",
        value: "PORT",
        default: 0,
        description:
          "Port to listen on (0 picks a free one; fix it when signatures must outlive a restart: every service URL, the OIDC issuer too, carries it)",
      },
      {
        name: "data-dir",
        type: "string",
        value: "DIR",
        description: "Keep state here (blobs, manifests) across restarts",
      },
      {
        name: "ready-file",
        type: "string",
        value: "FILE",
        description: "Write the services' addresses here (JSON) once listening",
      },
      {
        name: "basic-auth",
        type: "string",
        value: "USER:PASSWORD",
        description: "Require HTTP Basic credentials on the registry",
      },
      {
        name: "identity",
        type: "list",
        value: "ID",
        description:
          "An identity the OIDC issuer logs in as: an email, a GitHub workflow URI (https://github.com/OWNER/REPO/.github/workflows/FILE@REF) or another URI; the first is the default (default signer@dcosign.test)",
      },
    ],
    load: async () => (await import("./serve.ts")).serve,
  },
];
