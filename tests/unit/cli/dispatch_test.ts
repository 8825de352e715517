import assert from "node:assert/strict";
import { VERSION } from "../../../cli/tools/version.ts";
import { dcosign } from "../../_cli.ts";

const MISSING_KEY = [
  "--key",
  "/nonexistent/cosign.pub",
  "--insecure-ignore-tlog",
  "127.0.0.1:1/app:1",
];

Deno.test("-d before the command turns on verbose output as after it (cobra accepts both)", async () => {
  const quiet = await dcosign(["verify", ...MISSING_KEY]);
  assert.equal(quiet.code, 1);
  assert.doesNotMatch(quiet.stderr, /caused by/);
  for (const argv of [["-d", "verify", ...MISSING_KEY], ["verify", "-d", ...MISSING_KEY]]) {
    const result = await dcosign(argv);
    assert.equal(result.code, 1, argv.join(" "));
    assert.match(result.stderr, /Cannot read key/);
    assert.match(result.stderr, /caused by:/, argv.join(" "));
  }
});

Deno.test("--output-file F and -t DURATION before the command take their values, not the command name", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const result = await dcosign(["--output-file", "out.txt", "-t", "30s", "version"], {
      cwd: dir,
    });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, "");
    assert.match(
      await Deno.readTextFile(`${dir}/out.txt`),
      new RegExp(VERSION.replaceAll(".", "\\.")),
    );
    const bad = await dcosign(["-t", "soon", "version"]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /Invalid duration "soon"/);
    const equals = await dcosign(["--timeout=soon", "version"]);
    assert.match(equals.stderr, /Invalid duration "soon"/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("flags may sit between command names (dcosign download -d signature ...)", async () => {
  const result = await dcosign(["download", "-d", "signature", "--nope", "reg/app:1"]);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /Unknown flag --nope for "dcosign download signature"/);
});

Deno.test("a command's own flag before its name is read as that flag (dcosign --key K verify)", async () => {
  const result = await dcosign([
    "--key",
    "/nonexistent/cosign.pub",
    "verify",
    ...MISSING_KEY.slice(2),
  ]);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /Cannot read key "\/nonexistent\/cosign\.pub"/);
});

Deno.test("dcosign help COMMAND and an unknown flag or command at the top", async () => {
  const help = await dcosign(["help", "verify"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Usage:\n {2}dcosign verify/);
  const flag = await dcosign(["--nope"]);
  assert.equal(flag.code, 1);
  assert.match(flag.stderr, /Unknown flag --nope for "dcosign"/);
  const version = await dcosign(["-d", "--version"]);
  assert.equal(version.code, 0);
  assert.equal(version.stdout.trim(), VERSION);
});
