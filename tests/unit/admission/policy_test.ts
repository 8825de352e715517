/**
 * ClusterImagePolicy parsing and validation (lib/admission/policy.ts) and compiling for
 * enforcement (lib/admission/authority.ts): policy-controller's own valid and invalid examples
 * (read from ../shared/interop/policy/policy-controller at test time) are accepted and
 * rejected as its CRD validation does, each rejection containing the `# ERROR:` texts the files
 * carry verbatim; plus dcosign's strictness (unknown fields, wrong types), defaults, versions,
 * and what compiling refuses by name.
 */

import assert from "node:assert/strict";
import { isCosignError } from "../../../lib/errors.ts";
import { generateKeyPair } from "../../../lib/keys/private_key.ts";
import {
  parseClusterImagePolicies,
  parseClusterImagePolicy,
} from "../../../lib/admission/policy.ts";
import { compilePolicy } from "../../../lib/admission/authority.ts";
import { defaultPolicyEngine } from "../../../lib/admission/policy_engine.ts";
import { exists, interopPath, requireComponents } from "../../_support.ts";

const PC = "policy/policy-controller";
const CORPUS = {
  name: "policy-controller corpus",
  present: () => exists(interopPath(`${PC}/README.md`)),
};

function filesIn(dir: string): { name: string; text: string }[] {
  const path = interopPath(`${PC}/${dir}`);
  return [...Deno.readDirSync(path)]
    .filter((e) => e.isFile && e.name.endsWith(".yaml"))
    .map((e) => ({ name: e.name, text: Deno.readTextFileSync(`${path}/${e.name}`) }))
    .sort((a, b) => (a.name < b.name ? -1 : 1));
}

function rejection(text: string, origin: string, options = {}): string {
  try {
    parseClusterImagePolicies(text, { origin, ...options });
  } catch (error) {
    assert.ok(isCosignError(error, "ADMISSION_POLICY_INVALID"), String(error));
    return error.message;
  }
  throw new assert.AssertionError({ message: `${origin} was accepted` });
}

if (requireComponents("admission policy-controller examples", CORPUS)) {
  Deno.test("every invalid policy-controller example is rejected, naming each # ERROR: text verbatim", () => {
    const files = filesIn("test/testdata/policy-controller/invalid");
    assert.equal(files.length, 33);
    let checked = 0;
    for (const { name, text } of files) {
      const message = rejection(text, name);
      assert.ok(message.includes(`"${name}"`), `${name}: the file is named`);
      // e2e_test_policy_crd.sh: everything after the first colon of each "# ERROR:" line.
      for (const [, expected] of text.matchAll(/^# ERROR:(.*)$/gm)) {
        assert.ok(message.includes(expected!), `${name}: wanted "${expected}" in\n${message}`);
        checked++;
      }
    }
    assert.equal(checked, 39);
  });

  Deno.test("every valid policy-controller example is accepted", () => {
    const files = filesIn("test/testdata/policy-controller/valid");
    assert.equal(files.length, 14);
    for (const { name, text } of files) {
      const [policy] = parseClusterImagePolicies(text, { origin: name });
      assert.ok(policy && policy.authorities.length > 0, name);
    }
  });

  Deno.test("policies without authorities are refused by default and accepted with fail-on-empty-authorities off", () => {
    for (const { name, text } of filesIn("test/testdata/policy-controller/empty-authorities")) {
      assert.match(rejection(text, name), /missing field\(s\): spec\.authorities/);
      const [policy] = parseClusterImagePolicies(text, {
        origin: name,
        failOnEmptyAuthorities: false,
      });
      assert.deepEqual(policy?.authorities, []);
    }
  });

  Deno.test("the e2e, tester and example policies load; the AWS KMS example with placeholders is refused as invalid", () => {
    const files = [
      ...filesIn("test/testdata/policy-controller/e2e").filter((f) =>
        f.name !== "test-deployment.yaml"
      ),
      ...filesIn("test/testdata/policy-controller/tester"),
      ...filesIn("examples/policies"),
    ];
    assert.ok(files.length >= 40);
    for (const { name, text } of files) {
      if (name === "signed-by-aws-kms-key.yaml") {
        // "awskms:///arn:aws:kms:<< region >>:..." is not a key ARN for policy-controller either.
        assert.match(rejection(text, name), /spec\.authorities\[0\]\.key\.kms/);
        continue;
      }
      assert.equal(parseClusterImagePolicies(text, { origin: name }).length, 1, name);
    }
    const deployment = filesIn("test/testdata/policy-controller/e2e").find((f) =>
      f.name === "test-deployment.yaml"
    )!;
    assert.match(
      rejection(deployment.text, "test-deployment.yaml"),
      /invalid value: Deployment: kind/,
    );
  });

  Deno.test("compiling refuses by name what this build cannot enforce: KMS keys, secrets, unknown trust roots, tag prefixes", async () => {
    const engine = defaultPolicyEngine();
    const refused = async (relative: string) => {
      const text = Deno.readTextFileSync(interopPath(`${PC}/${relative}`));
      const [policy] = parseClusterImagePolicies(text, { origin: relative });
      try {
        await compilePolicy(policy!, { trust: {}, engine });
      } catch (error) {
        assert.ok(isCosignError(error, "ADMISSION_POLICY_UNSUPPORTED"), String(error));
        return error.message;
      }
      throw new assert.AssertionError({ message: `${relative} compiled` });
    };
    const valid = "test/testdata/policy-controller/valid";
    const e2e = "test/testdata/policy-controller/e2e";
    assert.match(
      await refused(`${valid}/valid-keyref-awskms.yaml`),
      /spec\.authorities\[0\]\.key\.kms: KMS keys are not supported yet/,
    );
    assert.match(
      await refused("examples/policies/signed-by-gcp-kms-key.yaml"),
      /KMS keys are not supported yet/,
    );
    assert.match(
      await refused(`${e2e}/cip-key-secret.yaml`),
      /key\.secretRef: keys from Kubernetes secrets are not supported yet/,
    );
    assert.match(
      await refused(`${e2e}/cip-keyless-with-source-prefix-tag.yaml`),
      /tagPrefix: signature tag prefixes are not supported yet/,
    );
    assert.match(
      await refused(`${e2e}/cip-keyless-with-trustroot-with-attestations.yaml`),
      /keyless\.trustRootRef: trust root "my-sigstore-keys" is not configured/,
    );
    assert.match(
      await refused(`${e2e}/cip-config-file-policy-from-configmap.yaml`),
      /policies from ConfigMaps are not supported yet/,
    );
    assert.match(
      await refused(`${valid}/valid-keyless-with-source.yaml`),
      /pull secrets are not supported yet/,
    );
    // Without a trusted root, keyless cannot be checked at all: refused, not skipped.
    assert.match(await refused(`${e2e}/cip-keyless.yaml`), /keyless: needs a trusted root/);
    // A key authority without ctlog needs no trust root at all.
    const [keyOnly] = parseClusterImagePolicies(
      Deno.readTextFileSync(interopPath(`${PC}/${e2e}/cip-key-no-rekor.yaml`)),
    );
    const compiled = await compilePolicy(keyOnly!, { trust: {}, engine });
    assert.equal(compiled.authorities[0]?.verification?.tlogThreshold, 0);
  });
}

const BASE = {
  apiVersion: "policy.sigstore.dev/v1beta1",
  kind: "ClusterImagePolicy",
  metadata: { name: "p" },
  spec: { images: [{ glob: "**" }], authorities: [{ static: { action: "pass" } }] },
};

Deno.test("parseClusterImagePolicy() refuses unknown fields and wrong types, naming each field", () => {
  const cases: [unknown, RegExp][] = [
    [
      { ...BASE, spec: { ...BASE.spec, autorities: [] } },
      /must not set the field\(s\): spec\.autorities/,
    ],
    [
      { ...BASE, spec: { ...BASE.spec, images: "**" } },
      /invalid value: \*\*: spec\.images: expected a list/,
    ],
    [{
      ...BASE,
      spec: { ...BASE.spec, authorities: [{ static: { action: "pass", reason: "x" } }] },
    }, /must not set the field\(s\): spec\.authorities\[0\]\.static\.reason/],
    [{ ...BASE, spec: { ...BASE.spec, mode: 1 } }, /spec\.mode/],
    [{ ...BASE, metadata: {} }, /missing field\(s\): metadata\.name/],
    [{ ...BASE, metadata: { name: "Not_A_Name" } }, /metadata\.name/],
    [{ ...BASE, kind: "Pod" }, /invalid value: Pod: kind/],
    [{ ...BASE, apiVersion: "policy.sigstore.dev/v2" }, /apiVersion/],
    [{
      ...BASE,
      spec: {
        ...BASE.spec,
        authorities: [{ name: "a", static: { action: "pass" } }, {
          name: "a",
          static: { action: "fail" },
        }],
      },
    }, /authority names must be unique/],
    [[], /expected an object/],
    [null, /expected an object/],
  ];
  for (const [document, pattern] of cases) {
    assert.throws(() => parseClusterImagePolicy(document, { origin: "x.yaml" }), pattern);
  }
});

Deno.test("parseClusterImagePolicy() applies policy-controller's defaults and warns on short predicate types", async () => {
  const key = await generateKeyPair();
  const policy = parseClusterImagePolicy({
    ...BASE,
    spec: {
      images: [{ glob: "ghcr.io/org/**" }],
      authorities: [
        { keyless: { identities: [{ issuer: "https://issuer", subject: "me@example.com" }] } },
        {
          name: "named",
          key: { data: key.publicKey.toPem() },
          attestations: [{ name: "sbom", predicateType: "spdxjson" }],
        },
      ],
    },
  });
  assert.equal(policy.mode, "enforce");
  assert.equal(policy.authorities[0]?.name, "authority-0");
  assert.equal(policy.authorities[0]?.keyless?.url, "https://fulcio.sigstore.dev");
  assert.equal(policy.authorities[1]?.key?.hashAlgorithm, "sha256");
  assert.equal(
    policy.authorities[1]?.attestations[0]?.predicateTypeUri,
    "https://spdx.dev/Document",
  );
  assert.equal(policy.warnings.length, 1);
  assert.match(policy.warnings[0]!, /deprecated value, please use RFC 3986 conformant values/);
});

Deno.test("a policy's version changes with its content and not with where it was read from", () => {
  const a = parseClusterImagePolicy(BASE, { origin: "a.yaml" });
  const b = parseClusterImagePolicy(BASE, { origin: "b.yaml" });
  const c = parseClusterImagePolicy({ ...BASE, spec: { ...BASE.spec, mode: "warn" } });
  assert.equal(a.version, b.version);
  assert.notEqual(a.version, c.version);
  assert.match(a.version, /^sha256:[0-9a-f]{64}$/);
});

Deno.test("parseClusterImagePolicies() reads every document of a stream and names the one that fails", () => {
  const text = `${JSON.stringify(BASE)}\n---\n${
    JSON.stringify({ ...BASE, metadata: { name: "q" }, spec: { ...BASE.spec, mode: "garbage" } })
  }\n`;
  assert.throws(
    () => parseClusterImagePolicies(text, { origin: "two.yaml" }),
    /"two\.yaml#2": validation failed: invalid value: garbage: spec\.mode/,
  );
  assert.throws(
    () => parseClusterImagePolicies("a: [", { origin: "broken.yaml" }),
    /Cannot read "broken\.yaml": Invalid YAML/,
  );
  assert.equal(parseClusterImagePolicies(`${JSON.stringify(BASE)}\n---\n# nothing\n`).length, 1);
});
