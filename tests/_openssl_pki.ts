/**
 * A small PKI made by `openssl` in a test's directory: a root CA, an intermediate CA, and leaves
 * issued by the intermediate (code signing with an email SAN, TLS server, TLS client), each an
 * EC P-256 key and a PEM certificate. Tests of cosign's non-Fulcio PKI flags and of registries
 * over TLS use it; suites that need it check `executable("openssl")` first.
 *
 * @module
 */

/** One certificate and its key, as PEM files. */
export interface PkiFiles {
  /** The PEM certificate file. */
  readonly cert: string;
  /** The PEM private key file (PKCS#8, unencrypted). */
  readonly key: string;
}

/** What a leaf is for. */
export interface LeafOptions {
  /** `codeSigning`, `serverAuth` or `clientAuth` (the EKU). */
  readonly usage: "codeSigning" | "serverAuth" | "clientAuth";
  /** `subjectAltName` entries, e.g. `email:me@corp.test`, `IP:127.0.0.1`, `DNS:reg.test`. */
  readonly san: readonly string[];
  /** Days of validity from now (default 2). */
  readonly days?: number;
  /** The issuer (default the intermediate). */
  readonly issuer?: PkiFiles;
  /** A private key file to certify (default a new key). */
  readonly key?: string;
}

/** A root and an intermediate CA, and a way to issue leaves. */
export interface TestPki {
  readonly dir: string;
  readonly root: PkiFiles;
  readonly intermediate: PkiFiles;
  /** The intermediate then the root: cosign's `--certificate-chain` for a leaf. */
  readonly chain: string;
  /** Issue a leaf named `name` (files `name.pem`, `name.key`). */
  issue(name: string, options: LeafOptions): Promise<PkiFiles>;
}

async function openssl(dir: string, args: string[]): Promise<void> {
  const output = await new Deno.Command("openssl", {
    args,
    cwd: dir,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) {
    throw new Error(`openssl ${args[0]} failed: ${new TextDecoder().decode(output.stderr)}`);
  }
}

async function newKey(dir: string, name: string): Promise<string> {
  const key = `${dir}/${name}.key`;
  await openssl(dir, [
    "genpkey",
    "-algorithm",
    "EC",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-out",
    key,
  ]);
  return key;
}

async function signCsr(
  dir: string,
  name: string,
  subject: string,
  issuer: PkiFiles,
  extensions: string,
  days: number,
  existingKey?: string,
): Promise<PkiFiles> {
  const key = existingKey ?? await newKey(dir, name);
  const csr = `${dir}/${name}.csr`;
  const ext = `${dir}/${name}.ext`;
  await Deno.writeTextFile(ext, extensions);
  await openssl(dir, ["req", "-new", "-key", key, "-subj", subject, "-out", csr]);
  const cert = `${dir}/${name}.pem`;
  await openssl(dir, [
    "x509",
    "-req",
    "-in",
    csr,
    "-CA",
    issuer.cert,
    "-CAkey",
    issuer.key,
    "-set_serial",
    `0x${crypto.getRandomValues(new Uint8Array(8)).toHex()}`,
    "-days",
    String(days),
    "-sha256",
    "-extfile",
    ext,
    "-out",
    cert,
  ]);
  return { cert, key };
}

/** Make a root CA (`name` in its common name) and an intermediate under it in `dir`. */
export async function createTestPki(dir: string, name = "Test"): Promise<TestPki> {
  const rootKey = await newKey(dir, "root");
  const rootCert = `${dir}/root.pem`;
  await openssl(dir, [
    "req",
    "-x509",
    "-new",
    "-key",
    rootKey,
    "-subj",
    `/O=${name}/CN=${name} Root CA`,
    "-days",
    "30",
    "-sha256",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
    "-out",
    rootCert,
  ]);
  const root = { cert: rootCert, key: rootKey };
  const intermediate = await signCsr(
    dir,
    "intermediate",
    `/O=${name}/CN=${name} Intermediate CA`,
    root,
    "basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n" +
      "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n",
    20,
  );
  const chain = `${dir}/chain.pem`;
  await Deno.writeTextFile(
    chain,
    (await Deno.readTextFile(intermediate.cert)) + (await Deno.readTextFile(rootCert)),
  );
  return {
    dir,
    root,
    intermediate,
    chain,
    issue: (leaf, options) =>
      signCsr(
        dir,
        leaf,
        `/O=${name}/CN=${leaf}`,
        options.issuer ?? intermediate,
        `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n` +
          `extendedKeyUsage=${options.usage}\nsubjectAltName=${options.san.join(",")}\n` +
          "authorityKeyIdentifier=keyid\n",
        options.days ?? 2,
        options.key,
      ),
  };
}
