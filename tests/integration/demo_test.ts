import assert from "node:assert/strict";
import { REPO_ROOT } from "../_support.ts";

Deno.test("deno task demo runs every step as shown and exits 0", async () => {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${REPO_ROOT}scripts/demo.ts`],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const out = new TextDecoder().decode(stdout);
  assert.equal(code, 0, `${out}\n${new TextDecoder().decode(stderr)}`);
  assert.match(out, /Every step behaved as shown/);
  assert.doesNotMatch(out, /✘/);
  // The identity token is shown by name, never whole (not even in an echoed command line).
  assert.match(out, /--identity-token \$TOKEN/);
  assert.doesNotMatch(out, /eyJ[\w-]+\.[\w-]+\.[\w-]+/);
});
