/**
 * A throwaway CA and a server certificate for 127.0.0.1/localhost, made with
 * the openssl CLI. kubectl only sends bearer tokens over TLS (client-go drops
 * credentials for plain-http servers), so the double serves https by default.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TlsMaterial {
  /** PEM private key of the server certificate. */
  key: string;
  /** PEM server certificate. */
  cert: string;
  /** PEM CA certificate that signed `cert`: what a kubeconfig's certificate-authority-data holds. */
  ca: string;
}

let cached: TlsMaterial | undefined;

/** Generate (once per process) a CA and a server cert with SANs 127.0.0.1, ::1, localhost, kubernetes.default.svc. */
export function selfSignedTls(): TlsMaterial {
  if (cached) return cached;
  const dir = mkdtempSync(join(tmpdir(), "kube-double-tls-"));
  try {
    const run = (args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
    run(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "7", "-subj", "/CN=kube-double-ca", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
    run(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=kube-apiserver"]);
    writeFileSync(join(dir, "ext.cnf"), "subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n");
    run(["x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.crt", "-days", "7", "-extfile", "ext.cnf"]);
    cached = { key: readFileSync(join(dir, "server.key"), "utf8"), cert: readFileSync(join(dir, "server.crt"), "utf8"), ca: readFileSync(join(dir, "ca.crt"), "utf8") };
    return cached;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
