import assert from "node:assert/strict";
import { parseDuration, parseFlags } from "../../../cli/args.ts";
import { VERSION } from "../../../cli/tools/version.ts";
import { isCosignError } from "../../../lib/errors.ts";
import { dcosign } from "../../_cli.ts";

const SPECS = [
  { name: "key", type: "string", description: "" },
  { name: "tlog-upload", type: "boolean", default: true, description: "" },
  { name: "annotations", short: "a", type: "list", description: "" },
  { name: "max-workers", type: "integer", description: "" },
  { name: "certificate", aliases: ["cert"], type: "string", description: "" },
] as const;

Deno.test("parseFlags() reads cosign's flag forms", () => {
  const { flags, args } = parseFlags(SPECS, [
    "--key=k.pub",
    "img1",
    "--tlog-upload=false",
    "-a",
    "x=1",
    "--annotations",
    "y=2",
    "--max-workers",
    "4",
    "--cert",
    "c.pem",
    "--",
    "--not-a-flag",
  ]);
  assert.equal(flags.string("key"), "k.pub");
  assert.equal(flags.boolean("tlog-upload"), false);
  assert.deepEqual(flags.list("annotations"), ["x=1", "y=2"]);
  assert.equal(flags.integer("max-workers"), 4);
  assert.equal(flags.string("certificate"), "c.pem");
  assert.deepEqual(args, ["img1", "--not-a-flag"]);
});

Deno.test("parseFlags() applies boolean defaults and refuses unknown flags and missing values", () => {
  assert.equal(parseFlags(SPECS, []).flags.boolean("tlog-upload"), true);
  assert.throws(() => parseFlags(SPECS, ["--nope"]), (e) => isCosignError(e, "CLI_USAGE"));
  assert.throws(() => parseFlags(SPECS, ["--key"]), /needs an argument/);
  assert.throws(() => parseFlags(SPECS, ["--tlog-upload=maybe"]), /true or false/);
  assert.throws(() => parseFlags(SPECS, ["--max-workers", "x"]), /integer/);
});

Deno.test("parseDuration() reads Go durations and refuses garbage", () => {
  assert.equal(parseDuration("3m"), 180_000);
  assert.equal(parseDuration("1h30m"), 5_400_000);
  assert.equal(parseDuration("500ms"), 500);
  assert.throws(() => parseDuration("soon"), /Invalid duration/);
});

Deno.test("dcosign version prints the version; --json prints JSON", async () => {
  const text = await dcosign(["version"]);
  assert.equal(text.code, 0);
  assert.match(text.stdout, new RegExp(`dcosign ${VERSION.replaceAll(".", "\\.")}`));
  const json = await dcosign(["version", "--json"]);
  assert.equal(JSON.parse(json.stdout).version, VERSION);
});

Deno.test("the CLI version equals deno.json's version", async () => {
  const config = JSON.parse(
    await Deno.readTextFile(new URL("../../../deno.json", import.meta.url)),
  );
  assert.equal(config.version, VERSION);
});

Deno.test("dcosign refuses an unknown command or flag with one line and exit 1", async () => {
  for (const argv of [["nope"], ["version", "--nope"], ["version", "extra"]]) {
    const result = await dcosign(argv);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, "");
    assert.equal(result.stderr.trim().split("\n").length, 1, result.stderr);
    assert.match(result.stderr, /^Error: /);
  }
});

Deno.test("dcosign --help and help COMMAND print help and exit 0", async () => {
  const root = await dcosign(["--help"]);
  assert.equal(root.code, 0);
  assert.match(root.stdout, /Commands:/);
  const command = await dcosign(["help", "version"]);
  assert.equal(command.code, 0);
  assert.match(command.stdout, /--json/);
});

Deno.test("library failures print their code and the likely fix on one line", async () => {
  const { describeError } = await import("../../../cli/output.ts");
  const { CosignError } = await import("../../../lib/errors.ts");
  const line = describeError(
    new CosignError("VERIFY_NO_SIGNATURES", 'No signatures found for "r/a"'),
  );
  assert.match(
    line,
    /No signatures found for "r\/a" \[VERIFY_NO_SIGNATURES\] \(fix: sign the image/,
  );
  assert.doesNotMatch(line, /\n/);
});
