import assert from "node:assert/strict";
import { isCosignError } from "../../../lib/errors.ts";
import { RegistryClient } from "../../../lib/oci/client.ts";

const HOST = "127.0.0.1:5443";

/** A fetch that answers `/v2/` per scheme: `"tls"` refuses the connection, else a status/body. */
function schemeFetch(
  answers: { https: "refuse" | [number, string]; http: "refuse" | [number, string] },
) {
  const seen: string[] = [];
  const fetcher: typeof fetch = (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    seen.push(`${init?.method ?? "GET"} ${url.protocol}//${url.host}${url.pathname}`);
    const answer = url.protocol === "https:" ? answers.https : answers.http;
    if (answer === "refuse") {
      return Promise.reject(new TypeError("fetch failed", { cause: new Error("handshake") }));
    }
    return Promise.resolve(new Response(answer[1], { status: answer[0] }));
  };
  return { fetcher, seen };
}

Deno.test("preferHttps: a localhost registry answering HTTPS is used over HTTPS, probed once", async () => {
  const { fetcher, seen } = schemeFetch({ https: [200, "{}"], http: "refuse" });
  const client = new RegistryClient({ fetch: fetcher, preferHttps: true, retry: { attempts: 1 } });
  await client.ping(HOST);
  await client.ping(HOST);
  assert.deepEqual(seen, [
    `GET https://${HOST}/v2/`,
    `GET https://${HOST}/v2/`,
    `GET https://${HOST}/v2/`,
  ]);
});

Deno.test("preferHttps: no TLS connection falls back to plain HTTP for a host that may use it", async () => {
  const { fetcher, seen } = schemeFetch({ https: "refuse", http: [200, "{}"] });
  const client = new RegistryClient({ fetch: fetcher, preferHttps: true, retry: { attempts: 1 } });
  await client.ping(HOST);
  assert.deepEqual(seen, [
    `GET https://${HOST}/v2/`,
    `GET http://${HOST}/v2/`,
    `GET http://${HOST}/v2/`,
  ]);
});

Deno.test("preferHttps: a TLS server's plain-HTTP refusal reports the TLS failure, not a 400", async () => {
  const { fetcher } = schemeFetch({
    https: "refuse",
    http: [400, "Client sent an HTTP request to an HTTPS server.\n"],
  });
  const client = new RegistryClient({ fetch: fetcher, preferHttps: true, retry: { attempts: 1 } });
  await assert.rejects(
    () => client.ping(HOST),
    (e) =>
      isCosignError(e, "OCI_NETWORK_ERROR") &&
      /over HTTPS: fetch failed: handshake/.test(e.message),
  );
});

Deno.test("preferHttps: a host that may not use plain HTTP is never tried over it", async () => {
  const { fetcher, seen } = schemeFetch({ https: "refuse", http: [200, "{}"] });
  const client = new RegistryClient({ fetch: fetcher, preferHttps: true, retry: { attempts: 1 } });
  await assert.rejects(
    () => client.ping("registry.example.com"),
    (e) => isCosignError(e, "OCI_NETWORK_ERROR"),
  );
  assert.ok(seen.every((line) => line.includes("https://")), seen.join(", "));
});

Deno.test("without preferHttps a localhost registry is reached over plain HTTP directly; a TLS server's 400 says so", async () => {
  const { fetcher, seen } = schemeFetch({ https: [200, "{}"], http: [200, "{}"] });
  await new RegistryClient({ fetch: fetcher, retry: { attempts: 1 } }).ping(HOST);
  assert.deepEqual(seen, [`GET http://${HOST}/v2/`]);
  const tls = schemeFetch({
    https: [200, "{}"],
    http: [400, "Client sent an HTTP request to an HTTPS server.\n"],
  });
  await assert.rejects(
    () => new RegistryClient({ fetch: tls.fetcher, retry: { attempts: 1 } }).ping(HOST),
    (e) => isCosignError(e, "OCI_NETWORK_ERROR") && /speaks TLS, not plain HTTP/.test(e.message),
  );
});
