import assert from "node:assert/strict";
import { isCosignError } from "../../../lib/errors.ts";
import {
  dockerReference,
  formatImageReference,
  isLocalRegistry,
  parseImageReference,
  parseRepository,
  registryApiHost,
  withDigest,
} from "../../../lib/oci/reference.ts";
import { fc } from "../../_deps.ts";

const D256 = `sha256:${"ab".repeat(32)}`;
const D512 = `sha512:${"cd".repeat(64)}`;

Deno.test("parseImageReference() normalises references as docker does", () => {
  const table: [string, string, string, (string | undefined)?, string?][] = [
    // input, registry, repository, tag, digest
    ["ubuntu", "index.docker.io", "library/ubuntu", "latest"],
    ["ubuntu:22.04", "index.docker.io", "library/ubuntu", "22.04"],
    ["docker.io/ubuntu", "index.docker.io", "library/ubuntu", "latest"],
    ["index.docker.io/library/ubuntu:1", "index.docker.io", "library/ubuntu", "1"],
    ["DOCKER.IO/org/app", "index.docker.io", "org/app", "latest"],
    ["org/app", "index.docker.io", "org/app", "latest"],
    ["ghcr.io/org/app:v1.2", "ghcr.io", "org/app", "v1.2"],
    ["ghcr.io/app", "ghcr.io", "app", "latest"],
    ["localhost/app", "localhost", "app", "latest"],
    ["localhost:5000/a/b/c:t", "localhost:5000", "a/b/c", "t"],
    ["127.0.0.1:5000/app", "127.0.0.1:5000", "app", "latest"],
    ["[::1]:5000/app", "[::1]:5000", "app", "latest"],
    ["registry:5000/app", "registry:5000", "app", "latest"],
    ["my-reg.example.com/a_b/c-d/e.f:x", "my-reg.example.com", "a_b/c-d/e.f", "x"],
    [`ghcr.io/org/app@${D256}`, "ghcr.io", "org/app", undefined, D256],
    [`ghcr.io/org/app:v1@${D256}`, "ghcr.io", "org/app", "v1", D256],
    [`ubuntu@${D512}`, "index.docker.io", "library/ubuntu", undefined, D512],
    // docker: "localhost:5000" alone is repository "localhost" with tag "5000".
    ["localhost:5000", "index.docker.io", "library/localhost", "5000"],
  ];
  for (const [input, registry, repository, tag, digest] of table) {
    const ref = parseImageReference(input);
    assert.equal(ref.registry, registry, input);
    assert.equal(ref.repository, repository, input);
    assert.equal(ref.tag, tag, input);
    assert.equal(ref.digest, digest, input);
  }
});

Deno.test("parseImageReference() refuses malformed references with OCI_REFERENCE_INVALID", () => {
  const bad = [
    "",
    "Ubuntu",
    "ghcr.io/Org/app",
    "ghcr.io/org/app:",
    "ghcr.io/org/app@sha256:abc",
    `ghcr.io/org/app@sha256:${"AB".repeat(32)}`,
    `ghcr.io/org/app@md5:${"ab".repeat(16)}`,
    "https://ghcr.io/org/app",
    "ghcr.io//app",
    "ghcr.io/app/",
    "ghcr.io:99999/app",
    "-bad.example/app",
    "ghcr.io/a b",
    `ghcr.io/org/app:${"t".repeat(129)}`,
    `ghcr.io/${"a".repeat(250)}`,
    "ghcr.io/app@@x",
  ];
  for (const input of bad) {
    assert.throws(
      () => parseImageReference(input),
      (e) =>
        isCosignError(e, "OCI_REFERENCE_INVALID") &&
        e.message.startsWith("Invalid image reference"),
      input,
    );
  }
});

Deno.test("the digest wins over the tag when formatting a reference", () => {
  const ref = parseImageReference(`ghcr.io/org/app:v1@${D256}`);
  assert.equal(formatImageReference(ref), `ghcr.io/org/app@${D256}`);
  assert.equal(
    formatImageReference(parseImageReference("ubuntu")),
    "index.docker.io/library/ubuntu:latest",
  );
  assert.deepEqual(withDigest(ref, D512), {
    registry: "ghcr.io",
    repository: "org/app",
    digest: D512,
  });
});

Deno.test("dockerReference() gives the SimpleSigning form index.docker.io/library/ubuntu", () => {
  assert.equal(
    dockerReference(parseImageReference("ubuntu:22.04")),
    "index.docker.io/library/ubuntu",
  );
  assert.equal(dockerReference(parseImageReference(`ghcr.io/o/r@${D256}`)), "ghcr.io/o/r");
});

Deno.test("registryApiHost() sends Docker Hub to registry-1.docker.io and nothing else", () => {
  assert.equal(registryApiHost("index.docker.io"), "registry-1.docker.io");
  assert.equal(registryApiHost("ghcr.io"), "ghcr.io");
  assert.equal(registryApiHost("localhost:5000"), "localhost:5000");
});

Deno.test("isLocalRegistry() accepts only loopback names, never look-alikes", () => {
  for (const host of ["localhost", "localhost:5000", "127.0.0.1:5000", "[::1]:80"]) {
    assert.ok(isLocalRegistry(host), host);
  }
  for (
    const host of ["localhost.evil.com", "127.0.0.1.nip.io", "victim.127.0.0.1:5000", "ghcr.io"]
  ) {
    assert.ok(!isLocalRegistry(host), host);
  }
});

Deno.test("parseRepository() accepts COSIGN_REPOSITORY values and refuses tags or digests", () => {
  assert.deepEqual(parseRepository("ghcr.io/org/sigs"), {
    registry: "ghcr.io",
    repository: "org/sigs",
  });
  assert.deepEqual(parseRepository("localhost:5000/sigs"), {
    registry: "localhost:5000",
    repository: "sigs",
  });
  for (const bad of ["ghcr.io/org/sigs:v1", `ghcr.io/org/sigs@${D256}`]) {
    assert.throws(() => parseRepository(bad), (e) => isCosignError(e, "OCI_REFERENCE_INVALID"));
  }
});

Deno.test("formatImageReference() and parseImageReference() round-trip normalised references", () => {
  const component = fc.stringMatching(/^[a-z0-9]+(?:[._-][a-z0-9]+)?$/, { maxLength: 12 });
  const arbitrary = fc.record({
    registry: fc.constantFrom(
      "ghcr.io",
      "localhost:5000",
      "index.docker.io",
      "reg.example.com:443",
    ),
    path: fc.array(component, { minLength: 2, maxLength: 3 }),
    tag: fc.option(fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}$/), { nil: undefined }),
    digest: fc.option(fc.stringMatching(/^[0-9a-f]{64}$/).map((h) => `sha256:${h}`), {
      nil: undefined,
    }),
  });
  fc.assert(fc.property(arbitrary, ({ registry, path, tag, digest }) => {
    const text = `${registry}/${path.join("/")}${tag ? `:${tag}` : ""}${
      digest ? `@${digest}` : ""
    }`;
    const ref = parseImageReference(text);
    const again = parseImageReference(formatImageReference(ref));
    assert.equal(again.registry, ref.registry);
    assert.equal(again.repository, ref.repository);
    assert.equal(again.digest, ref.digest);
    if (ref.digest === undefined) assert.equal(again.tag, ref.tag);
  }));
});
