/**
 * A read-only (0500) TUF cache directory falls back to memory with exactly one warning, in a
 * real process that mode bits bind. Root ignores mode bits through CAP_DAC_OVERRIDE, and CI
 * runs as root, so as root the client process runs under `setpriv` with CAP_DAC_OVERRIDE and
 * CAP_DAC_READ_SEARCH removed from its bounding and inheritable sets: it is still uid 0 and
 * still owns the directory, and the kernel refuses it the write exactly as it would refuse
 * any owner of a 0500 directory.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { TufRepository } from "../../server/tuf/repository.ts";
import { tufRoutes } from "../../server/tuf/routes.ts";
import { executable, requireComponents, tempDir } from "../_support.ts";

const NOW = new Date("2030-01-01T00:00:00Z");
const script = new URL("./_tuf_readonly_client.ts", import.meta.url).pathname;
const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
const asRoot = Deno.uid() === 0;

if (!asRoot || requireComponents("read-only TUF cache as root", executable("setpriv"))) {
  Deno.test("a read-only (0500) cache directory falls back to memory with one warning, and the trusted root is still served", async () => {
    await using work = await tempDir("dcosign-tuf-ro-");
    const trustedRoot = new TextEncoder().encode('{"mediaType":"read-only test"}');
    const repo = await TufRepository.create({ now: () => NOW });
    await repo.setTargets({ "trusted_root.json": trustedRoot });
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      tufRoutes(repo).fetch,
    );
    await using _ = { [Symbol.asyncDispose]: () => server.shutdown() };
    const rootFile = `${work.path}/1.root.json`;
    await Deno.writeFile(rootFile, repo.rootBytes(1));
    const cache = `${work.path}/cache`;
    await Deno.mkdir(cache, { mode: 0o500 });
    await Deno.chmod(cache, 0o500);
    const client = [
      Deno.execPath(),
      "run",
      "-A",
      script,
      `http://127.0.0.1:${server.addr.port}/tuf`,
      rootFile,
      cache,
      NOW.toISOString(),
    ];
    const drop = "-dac_override,-dac_read_search";
    const argv = asRoot
      ? ["setpriv", `--inh-caps=${drop}`, `--bounding-set=${drop}`, "--", ...client]
      : client;
    try {
      const { code, stdout, stderr } = await new Deno.Command(argv[0]!, {
        args: argv.slice(1),
        stdout: "piped",
        stderr: "piped",
      }).output();
      const decoder = new TextDecoder();
      assert.equal(code, 0, decoder.decode(stderr));
      const result = JSON.parse(decoder.decode(stdout));
      assert.equal(result.sha256, sha256(trustedRoot));
      assert.equal(result.cacheMode, "memory");
      assert.equal(result.warnings.length, 1, JSON.stringify(result.warnings));
      assert.match(
        result.warnings[0],
        /^Cannot write the TUF cache ".*\/cache\/dcosign\/http%3A.*" \(.*[Pp]ermission denied.*\): TUF metadata is kept in memory for this run$/,
      );
      // Nothing was written: the directory is as empty as the kernel kept it.
      assert.deepEqual([...Deno.readDirSync(cache)], []);
    } finally {
      await Deno.chmod(cache, 0o700);
    }
  });
}
