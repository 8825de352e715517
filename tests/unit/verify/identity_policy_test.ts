import assert from "node:assert/strict";
import {
  anchoredSuggestion,
  checkIdentity,
  wholeValueRegExp,
} from "../../../lib/verify/identity_policy.ts";
import { isCosignError } from "../../../lib/errors.ts";
import type { CertificateIdentity } from "../../../lib/x509/identity.ts";

const WORKFLOW = "https://github.com/org/repo/.github/workflows/release.yml@refs/heads/main";
const ISSUER = "https://token.actions.githubusercontent.com";

function identity(san: string, issuer = ISSUER): CertificateIdentity {
  return { san, sans: [{ type: "uri", value: san }], issuer, githubWorkflow: {}, extensions: {} };
}

Deno.test("anchoredSuggestion() anchors a pattern that matches only part of the value", () => {
  const cases: [string, string, string][] = [
    ["https://github.com/org/", WORKFLOW, "^https://github.com/org/.*"],
    ["@refs/heads/main", WORKFLOW, ".*@refs/heads/main$"],
    ["workflows/release", WORKFLOW, ".*workflows/release.*"],
    ["^https://github\\.com/org/", WORKFLOW, "^https://github\\.com/org/.*"],
    ["@example\\.com|@example\\.org", "alice@example.org", ".*(?:@example\\.com|@example\\.org)$"],
  ];
  for (const [pattern, value, expected] of cases) {
    const suggestion = anchoredSuggestion(pattern, value);
    assert.equal(suggestion, expected, pattern);
    assert.ok(wholeValueRegExp(suggestion!).test(value), `${suggestion} matches the whole value`);
    // The suggestion means the same under cosign's unanchored search.
    assert.ok(new RegExp(suggestion!, "u").test(value));
  }
});

Deno.test("anchoredSuggestion() says nothing when the pattern matches whole, or nowhere, or is invalid", () => {
  assert.equal(anchoredSuggestion(".*", WORKFLOW), undefined);
  assert.equal(anchoredSuggestion("gitlab\\.com", WORKFLOW), undefined);
  assert.equal(anchoredSuggestion("(", WORKFLOW), undefined);
});

Deno.test("checkIdentity() keeps whole-value matching and names cosign's substring rule with the anchored fix", () => {
  const policy = {
    identities: [{ subjectRegExp: "https://github.com/org/", issuerRegExp: "actions" }],
  };
  assert.throws(
    () => checkIdentity(identity(WORKFLOW), policy, false),
    (error) => {
      assert.ok(isCosignError(error, "VERIFY_IDENTITY_MISMATCH"));
      assert.match(
        error.message,
        /does not match the expected identity matching \/https:\/\/github\.com\/org\/\//,
      );
      assert.match(
        error.message,
        /cosign would accept it, because its -regexp flags match a substring/,
      );
      assert.match(
        error.message,
        /--certificate-identity-regexp '\^https:\/\/github\.com\/org\/\.\*'/,
      );
      assert.match(error.message, /--certificate-oidc-issuer-regexp '\.\*actions\.\*'/);
      return true;
    },
  );
  // The suggested patterns pass.
  checkIdentity(identity(WORKFLOW), {
    identities: [{ subjectRegExp: "^https://github.com/org/.*", issuerRegExp: ".*actions.*" }],
  }, false);
});

Deno.test("checkIdentity() gives no cosign hint when cosign would refuse too", () => {
  assert.throws(
    () =>
      checkIdentity(identity(WORKFLOW), {
        identities: [{ subjectRegExp: "gitlab\\.com", issuer: ISSUER }],
      }, false),
    (error) =>
      isCosignError(error, "VERIFY_IDENTITY_MISMATCH") && !/cosign would/.test(error.message),
  );
  // An exact --certificate-identity never gets a regexp hint.
  assert.throws(
    () =>
      checkIdentity(
        identity(WORKFLOW),
        { identities: [{ subject: "org", issuer: ISSUER }] },
        false,
      ),
    (error) => isCosignError(error) && !/cosign would/.test(error.message),
  );
});
