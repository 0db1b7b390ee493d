/**
 * A throwaway CA and a server certificate for the gateway, so the bench's
 * callers reach it over TLS as kubectl does (kubectl sends bearer tokens only
 * over TLS). The names cover loopback and the hub's underlay address, where
 * the edge's bootstrap reaches the public endpoint.
 */
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";

export interface GatewayTlsFiles {
  caFile: string;
  certFile: string;
  keyFile: string;
}

/** Writes ca.pem, gateway.pem and gateway.key into `dir` (openssl CLI, P-256). */
export function gatewayTls(dir: string, ips: string[]): GatewayTlsFiles {
  const f = (n: string) => path.join(dir, n);
  const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  openssl("req", "-x509", ...ec, "-keyout", f("ca.key"), "-out", f("ca.pem"), "-days", "2", "-subj", "/CN=bench-gateway-ca", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign");
  openssl("req", ...ec, "-keyout", f("gateway.key"), "-out", f("gateway.csr"), "-subj", "/CN=daalu-gateway");
  writeFileSync(f("gateway.ext"), `subjectAltName=${ips.map((ip) => `IP:${ip}`).join(",")},DNS:localhost\nextendedKeyUsage=serverAuth\n`);
  openssl("x509", "-req", "-in", f("gateway.csr"), "-CA", f("ca.pem"), "-CAkey", f("ca.key"), "-CAcreateserial", "-out", f("gateway.pem"), "-days", "2", "-extfile", f("gateway.ext"));
  return { caFile: f("ca.pem"), certFile: f("gateway.pem"), keyFile: f("gateway.key") };
}
