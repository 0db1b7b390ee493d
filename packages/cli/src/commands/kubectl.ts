/**
 * `daalu kubeconfig CLUSTER` and `daalu kubectl CLUSTER -- ARGS`.
 *
 * `daalu kubectl` runs the local kubectl against the hub's Kubernetes endpoint
 * for the cluster (`/k8s/clusters/<id>`, through the tunnel). kubectl sends no
 * credentials to plain-http servers, and the token should not sit in a file,
 * so kubectl talks to a loopback bridge in this process instead: its
 * kubeconfig names a server that never resolves and, as proxy-url, the bridge
 * with a 256-bit secret (`Proxy-Authorization: Basic`). The bridge takes only
 * requests carrying that secret, drops proxy, hop-by-hop and impersonation
 * headers, adds the saved token and forwards to the hub, streaming both ways
 * (watch, `logs -f`). The gateway's own kubectl panel works the same way.
 * Without a local kubectl (or with `--remote`) the command goes to the hub's
 * one-shot panel, `POST /v1/clusters/<id>/kubectl` (operators and admins,
 * read-only verbs). Either way the exit code is kubectl's.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { CliError, EXIT } from "../exit.js";
import { Hub } from "../hub.js";

export async function kubeconfig(cluster: string, o: { outputFile?: string; token: boolean }): Promise<void> {
  const hub = Hub.fromConfig();
  const c = await hub.findCluster(cluster);
  const res = await hub.raw("GET", `/v1/clusters/${encodeURIComponent(c.id)}/kubeconfig${o.token ? "?token=include" : ""}`, { accept: "application/yaml" });
  const text = res.text;
  if (hub.url.startsWith("http:")) process.stderr.write("note: kubectl sends tokens only over https; against this http hub use `daalu kubectl` instead.\n");
  if (!o.outputFile) {
    process.stdout.write(text);
    return;
  }
  writeFileSync(o.outputFile, text, { mode: 0o600 });
  process.stderr.write(`Wrote ${o.outputFile}; use it with: kubectl --kubeconfig ${o.outputFile} get nodes\n`);
}

/** The server name kubectl's kubeconfig names: never resolved (the proxy takes every request). */
const SERVER_HOST = "cluster.daalu.invalid";
const DROP = /^(host|authorization|connection|keep-alive|proxy-authorization|proxy-connection|te|trailer|transfer-encoding|upgrade|impersonate-.*)$/i;

function refuse(res: http.ServerResponse, code: number, message: string): void {
  res.writeHead(code, { "content-type": "application/json" }).end(JSON.stringify({ kind: "Status", apiVersion: "v1", status: "Failure", message, code }));
}

/** Starts the loopback bridge for one cluster; returns kubectl's proxy URL. */
async function startBridge(hub: Hub, clusterId: string): Promise<{ proxyUrl: string; close(): Promise<void> }> {
  const secret = randomBytes(32).toString("base64url");
  const expect = `Basic ${Buffer.from(`daalu:${secret}`).toString("base64")}`;
  const target = new URL(hub.url);
  const mod = target.protocol === "https:" ? https : http;
  const agent = new mod.Agent({ keepAlive: true });
  const server = http.createServer((req, res) => {
    if (req.headers["proxy-authorization"] !== expect) return refuse(res, 407, "not this run's proxy secret");
    const prefix = `http://${SERVER_HOST}`;
    const raw = (req.url ?? "").startsWith(prefix) ? (req.url ?? "").slice(prefix.length) || "/" : "";
    if (!raw.startsWith("/")) return refuse(res, 400, "the bridge forwards only this cluster's requests");
    const headers: http.OutgoingHttpHeaders = {};
    for (const [k, v] of Object.entries(req.headers)) if (!DROP.test(k) && v !== undefined) headers[k] = v;
    headers["authorization"] = hub.authorization;
    const up = mod.request(
      { protocol: target.protocol, host: target.hostname.replace(/^\[|\]$/g, ""), port: target.port, method: req.method, path: `${target.pathname.replace(/\/$/, "")}/k8s/clusters/${encodeURIComponent(clusterId)}${raw}`, headers, agent },
      (ur) => {
        res.writeHead(ur.statusCode ?? 502, ur.headers);
        res.flushHeaders();
        ur.pipe(res);
      },
    );
    up.on("error", (err) => {
      if (!res.headersSent) refuse(res, 502, `cannot reach the hub at ${hub.url}: ${err.message}`);
      else res.destroy();
    });
    res.on("close", () => up.destroy());
    req.pipe(up);
  });
  server.on("connect", (_req, socket) => socket.end("HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\n\r\n"));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const port = (server.address() as AddressInfo).port;
  return {
    proxyUrl: `http://daalu:${secret}@127.0.0.1:${port}`,
    async close() {
      server.closeAllConnections();
      agent.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

/** Runs the local kubectl through the bridge; resolves with its exit code, or undefined when there is no kubectl. */
async function localKubectl(hub: Hub, clusterId: string, clusterName: string, args: string[], bin: string): Promise<number | undefined> {
  const dir = mkdtempSync(path.join(tmpdir(), "daalu-kubectl-"));
  const bridge = await startBridge(hub, clusterId);
  try {
    const file = path.join(dir, "kubeconfig");
    const name = JSON.stringify(`daalu-${clusterName}`);
    writeFileSync(
      file,
      [
        "apiVersion: v1",
        "kind: Config",
        "clusters:",
        `- name: ${name}`,
        "  cluster:",
        `    server: ${JSON.stringify(`http://${SERVER_HOST}`)}`,
        `    proxy-url: ${JSON.stringify(bridge.proxyUrl)}`,
        "users:",
        `- name: ${name}`,
        "  user: {}",
        "contexts:",
        `- name: ${name}`,
        "  context:",
        `    cluster: ${name}`,
        `    user: ${name}`,
        `current-context: ${name}`,
        "",
      ].join("\n"),
      { mode: 0o600 },
    );
    // A terminal is handed over as it is (kubectl's own TTY handling). A pipe or
    // file is copied through this process instead: node keeps its own stdio
    // non-blocking, which kubectl (Go) would not expect from an inherited
    // descriptor, and it then drops what a full pipe refuses.
    const tty = (s: NodeJS.WriteStream) => (s.isTTY ? "inherit" : "pipe");
    const child = spawn(bin, [`--kubeconfig=${file}`, `--cache-dir=${path.join(dir, "cache")}`, ...args], { stdio: ["inherit", tty(process.stdout), tty(process.stderr)] });
    const copied = Promise.all(
      ([
        [child.stdout, process.stdout],
        [child.stderr, process.stderr],
      ] as const).map(([from, to]) => (from ? new Promise<void>((resolve) => from.once("end", resolve).pipe(to, { end: false })) : undefined)),
    );
    const forward = (sig: NodeJS.Signals) => child.kill(sig);
    process.on("SIGINT", forward);
    process.on("SIGTERM", forward);
    try {
      const code = await new Promise<number | undefined>((resolve, reject) => {
        child.once("error", (err: NodeJS.ErrnoException) => (err.code === "ENOENT" ? resolve(undefined) : reject(err)));
        child.once("exit", (code, signal) => resolve(code ?? 128 + (signal === "SIGINT" ? 2 : signal === "SIGKILL" ? 9 : 15)));
      });
      if (code !== undefined) await copied;
      return code;
    } finally {
      process.off("SIGINT", forward);
      process.off("SIGTERM", forward);
    }
  } finally {
    await bridge.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

interface PanelResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  truncated: boolean;
  timedOut: boolean;
}

/** The hub's one-shot kubectl panel (read-only verbs; operator or admin). */
async function remoteKubectl(hub: Hub, clusterId: string, args: string[]): Promise<number> {
  const r = await hub.json<PanelResult>("POST", `/v1/clusters/${encodeURIComponent(clusterId)}/kubectl`, { argv: args });
  process.stdout.write(r.stdout);
  process.stderr.write(r.stderr);
  if (r.truncated) process.stderr.write("daalu: the hub cut kubectl's output short (output limit)\n");
  if (r.timedOut) throw new CliError("kubectl ran out of time on the hub", EXIT.timeout, "narrow the command (a namespace, a selector)");
  return r.exitCode ?? EXIT.error;
}

export async function kubectl(cluster: string, args: string[], o: { remote: boolean }): Promise<number> {
  if (args.length === 0) throw new CliError("no kubectl command given", EXIT.usage, "e.g. `daalu kubectl prod -- get pods -A`");
  const hub = Hub.fromConfig();
  const c = await hub.findCluster(cluster);
  if (!o.remote) {
    const code = await localKubectl(hub, c.id, c.name, args, process.env["DAALU_KUBECTL"] || "kubectl");
    if (code !== undefined) return code;
    process.stderr.write("daalu: no local kubectl; running the command on the hub's kubectl panel (read-only verbs)\n");
  }
  return remoteKubectl(hub, c.id, args);
}
