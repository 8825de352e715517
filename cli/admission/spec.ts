/**
 * `admission serve` and `admission test` as plain data: the Kubernetes admission webhook that
 * enforces ClusterImagePolicies (sigstore policy-controller's job, in the same binary), and its
 * cluster-free tester. Implementations load on demand from this folder.
 *
 * @module
 */

import type { FlagSpec } from "../args.ts";
import type { CommandSpec } from "../spec.ts";
import { OUTPUT_FLAG, REGISTRY_FLAGS } from "../options/flags.ts";

const POLICY_FLAGS: readonly FlagSpec[] = [
  {
    name: "trusted-root",
    type: "string",
    value: "FILE",
    description:
      "trusted_root.json for keyless authorities, logs and TSAs (dcosign serve writes one)",
  },
  {
    name: "trust-root",
    type: "list",
    value: "NAME=FILE",
    description: "A trusted_root.json a policy's trustRootRef NAME names",
  },
  {
    name: "no-match-policy",
    type: "string",
    value: "ACTION",
    choices: ["allow", "warn", "deny"],
    default: "deny",
    description: "What to do with an image no policy applies to",
  },
  {
    name: "allow-empty-authorities",
    type: "boolean",
    description:
      "Accept policies without authorities (policy-controller fail-on-empty-authorities=false)",
  },
];

/** The `admission` commands. */
export const ADMISSION_COMMANDS: readonly CommandSpec[] = [
  {
    name: "admission",
    summary: "Enforce ClusterImagePolicies in Kubernetes (an admission webhook) and test them",
    subcommands: [
      {
        name: "serve",
        summary: "Run the admission webhook over HTTPS",
        description:
          "Serve the validating (/validations) and mutating (/mutations) admission webhooks\n" +
          "for Pods, Deployments, ReplicaSets, StatefulSets, DaemonSets, Jobs and CronJobs,\n" +
          "enforcing the ClusterImagePolicies (policy.sigstore.dev/v1alpha1 and v1beta1) read\n" +
          "from --policy files or directories and, with --policies-from-kubernetes, from the\n" +
          "cluster (listed every --kubernetes-poll). The mutating hook resolves tags to digests; the\n" +
          "validating hook refuses tags, checks every image against the policies that match it,\n" +
          "and answers allowed, denied (one line per failing image) or allowed with warnings.\n" +
          "Also /healthz, /readyz and Prometheus /metrics. Verdicts are cached per image digest\n" +
          "and policy version. Undecided checks (timeouts, registry down) are denied unless\n" +
          "--fail-open. Stops on SIGINT/SIGTERM. See deploy/kubernetes/ for the manifests.",
        args: { min: 0, max: 0 },
        examples: [
          "dcosign admission serve --policy /etc/dcosign/policies --cert tls.crt --key tls.key \\\n" +
          "    --trusted-root trusted_root.json",
          "dcosign admission serve --policy policy.yaml --self-signed --port 0 --ready-file ready.json",
        ],
        flags: [
          {
            name: "policy",
            type: "list",
            value: "PATH",
            description: "A ClusterImagePolicy YAML file, or a directory of them",
          },
          {
            name: "policies-from-kubernetes",
            type: "boolean",
            description:
              "Also enforce the cluster's ClusterImagePolicy resources (in a pod: its service account)",
          },
          {
            name: "kubernetes-poll",
            type: "string",
            value: "DURATION",
            default: "15s",
            description: "How often the ClusterImagePolicy resources are listed",
          },
          {
            name: "kubernetes-api",
            type: "string",
            value: "URL",
            description:
              "The API server (default https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT)",
          },
          {
            name: "kubernetes-token-file",
            type: "string",
            value: "FILE",
            default: "/var/run/secrets/kubernetes.io/serviceaccount/token",
            description: "The bearer token file",
          },
          {
            name: "kubernetes-ca-file",
            type: "string",
            value: "FILE",
            default: "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt",
            description: "The API server's CA certificate",
          },
          ...POLICY_FLAGS,
          {
            name: "cert",
            type: "string",
            value: "FILE",
            description: "TLS certificate chain (PEM), the server's certificate first",
          },
          { name: "key", type: "string", value: "FILE", description: "TLS private key (PEM)" },
          {
            name: "self-signed",
            type: "boolean",
            description:
              "Generate a throw-away CA and certificate (tests; the CA goes to --ready-file)",
          },
          {
            name: "host",
            type: "string",
            value: "ADDRESS",
            default: "0.0.0.0",
            description: "Interface to listen on",
          },
          {
            name: "port",
            type: "integer",
            value: "PORT",
            default: 8443,
            description: "HTTPS port (0 picks a free one)",
          },
          {
            name: "ready-file",
            type: "string",
            value: "FILE",
            description: "Write the URL (and the generated CA) here as JSON once listening",
          },
          {
            name: "fail-open",
            type: "boolean",
            description:
              "Admit, with a warning, images whose check could not finish (default: deny)",
          },
          {
            name: "review-timeout",
            type: "string",
            value: "DURATION",
            default: "8s",
            description: "Deadline of one review (the API server's webhook timeout is 10s at most)",
          },
          {
            name: "registry-timeout",
            type: "string",
            value: "DURATION",
            default: "5s",
            description: "Deadline of one registry request",
          },
          {
            name: "cache-ttl",
            type: "string",
            value: "DURATION",
            default: "5m",
            description: "How long a verdict is cached",
          },
          {
            name: "negative-cache-ttl",
            type: "string",
            value: "DURATION",
            default: "30s",
            description: "How long a failed verdict is cached",
          },
          {
            name: "cache-size",
            type: "integer",
            value: "N",
            default: 10000,
            description: "Most verdicts cached",
          },
          ...REGISTRY_FLAGS,
        ],
        load: async () => (await import("./serve.ts")).admissionServe,
      },
      {
        name: "test",
        summary: "Evaluate ClusterImagePolicies against an image without a cluster",
        description:
          "Check IMAGE (a tag is resolved to its digest) against the policies in --policy, as\n" +
          "the webhook would for the resource in --resource (a Pod, Deployment, ... YAML; it\n" +
          "selects policies with match: and feeds includeSpec/includeObjectMeta/includeTypeMeta).\n" +
          "Prints the decision and each policy's reasons; exits 1 when the image is denied.",
        args: { min: 0, max: 0 },
        examples: [
          "dcosign admission test --policy policy.yaml --image ghcr.io/org/app:1.0 \\\n" +
          "    --trusted-root trusted_root.json",
          "dcosign admission test --policy allow-only-pods.yaml --image reg/app@sha256:... --resource job.yaml",
        ],
        flags: [
          {
            name: "policy",
            type: "list",
            value: "PATH",
            description: "A ClusterImagePolicy YAML file, or a directory of them",
          },
          { name: "image", type: "string", value: "REF", description: "The image to check" },
          {
            name: "resource",
            type: "string",
            value: "FILE",
            description: "The workload the image is in (YAML or JSON)",
          },
          ...POLICY_FLAGS,
          OUTPUT_FLAG,
          ...REGISTRY_FLAGS,
        ],
        load: async () => (await import("./test.ts")).admissionTest,
      },
    ],
  },
];
