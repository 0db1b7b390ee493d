/**
 * The loopback bridge between kubectl children and this gateway's /k8s routes.
 *
 * kubectl sends no credentials to plain-http servers, and the caller's token
 * should not be written to disk anyway. So each run's kubeconfig names a
 * server that never resolves and, as its proxy-url, this bridge
 * (http://run:<256-bit secret>@127.0.0.1:PORT). kubectl then sends every
 * request as an HTTP proxy request (absolute URL, `Proxy-Authorization: Basic`
 * with the run's secret): the bridge maps the secret, valid only while that
 * run lasts, to the caller's Authorization header and the cluster, and
 * forwards to /k8s/clusters/<id><path> on the gateway's own address. No path
 * prefix is involved, so `kubectl get --raw /api` (which drops the server's
 * path) works like any other request.
 *
 * The bridge forwards nothing else: requests without a live run's secret get
 * 404, CONNECT (tunnels) 405, absolute URLs for another host and paths with
 * dot segments 400. It drops proxy, hop-by-hop and impersonation headers, so
 * a request carries exactly the caller's own authority.
 */
import { randomBytes } from "node:crypto";
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import type { Logger } from "@daalu/runtime";
import { KUBECTL_SERVER } from "./kubectl-run-sandbox.js";

interface Run {
  /** The caller's credentials, replayed on each of kubectl's requests: its bearer token, or its session cookie and CSRF token. */
  authorization: string;
  cookie?: string;
  csrfToken?: string;
  clusterId: string;
}

const SERVER_HOST = new URL(KUBECTL_SERVER).host;
/** Headers never forwarded: hop-by-hop, proxy, the caller's own credentials and impersonation. */
const DROP = /^(host|authorization|cookie|x-csrf-token|connection|keep-alive|proxy-authorization|proxy-connection|te|trailer|transfer-encoding|upgrade|impersonate-.*)$/i;

function status(res: http.ServerResponse, code: number, message: string): void {
  res.writeHead(code, { "content-type": "application/json" }).end(JSON.stringify({ kind: "Status", apiVersion: "v1", status: "Failure", message, reason: code === 404 ? "NotFound" : "BadRequest", code }));
}

export class KubectlBridge {
  private server: http.Server | undefined;
  private starting: Promise<number> | undefined;
  private readonly runs = new Map<string, Run>();
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  private readonly tlsAgent = new https.Agent({ keepAlive: true, maxSockets: 64, rejectUnauthorized: false });

  constructor(
    private readonly target: () => URL,
    private readonly log: Logger,
  ) {}

  /** Registers a run; returns the proxy URL its kubeconfig names and a function that revokes it. */
  async open(run: Run): Promise<{ proxyUrl: string; close(): void }> {
    const port = await (this.starting ??= this.listen());
    const secret = randomBytes(32).toString("base64url");
    this.runs.set(secret, run);
    return { proxyUrl: `http://run:${secret}@127.0.0.1:${port}`, close: () => this.runs.delete(secret) };
  }

  private async listen(): Promise<number> {
    const server = http.createServer((req, res) => this.forward(req, res));
    // No CONNECT tunnels: a request either carries a run's secret and goes to /k8s, or nowhere.
    server.on("connect", (_req, socket) => socket.end("HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\n\r\n"));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", resolve);
    });
    return (server.address() as AddressInfo).port;
  }

  private runOf(req: http.IncomingMessage): Run | undefined {
    const m = /^Basic ([A-Za-z0-9+/=]+)$/.exec(req.headers["proxy-authorization"] ?? "");
    if (!m) return undefined;
    const cred = Buffer.from(m[1]!, "base64").toString("utf8");
    if (!cred.startsWith("run:")) return undefined;
    const secret = cred.slice(4);
    return this.runs.get(secret);
  }

  private forward(req: http.IncomingMessage, res: http.ServerResponse): void {
    const run = this.runOf(req);
    if (!run) return status(res, 404, "unknown or finished kubectl run");
    let url: URL;
    try {
      url = new URL(req.url ?? "");
    } catch {
      return status(res, 400, "the bridge only takes proxy requests");
    }
    if (url.protocol !== "http:" || url.host !== SERVER_HOST) return status(res, 400, "the bridge forwards only to this run's cluster");
    const raw = (req.url ?? "").slice(`http://${SERVER_HOST}`.length) || "/";
    if (!raw.startsWith("/") || /(^|\/)(\.|%2e){1,2}(\/|$)/i.test(raw.split("?")[0]!)) return status(res, 400, "no dot segments in kubectl paths");
    const to = this.target();
    const headers: http.OutgoingHttpHeaders = {};
    for (const [k, v] of Object.entries(req.headers)) if (!DROP.test(k) && v !== undefined) headers[k] = v;
    if (run.authorization) headers["authorization"] = run.authorization;
    if (run.cookie) headers["cookie"] = run.cookie;
    if (run.csrfToken) headers["x-csrf-token"] = run.csrfToken;
    const target = { host: to.hostname.replace(/^\[|\]$/g, ""), port: to.port, method: req.method, path: `/k8s/clusters/${run.clusterId}${raw}`, headers };
    const onAnswer = (ur: http.IncomingMessage) => {
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      // Watch clients wait for the head before anything else (rollout status, informers).
      res.flushHeaders();
      ur.pipe(res);
    };
    // Our own listening socket: when the gateway serves TLS itself, its certificate
    // names the public host, not the loopback address, so it is not verified here.
    const up = to.protocol === "https:" ? https.request({ ...target, agent: this.tlsAgent }, onAnswer) : http.request({ ...target, agent: this.agent }, onAnswer);
    up.on("error", (err) => {
      this.log.warn({ err: err.message }, "kubectl bridge could not reach the gateway");
      res.destroy();
    });
    res.on("close", () => up.destroy());
    req.pipe(up);
  }

  async close(): Promise<void> {
    this.runs.clear();
    this.agent.destroy();
    this.tlsAgent.destroy();
    const s = this.server;
    if (!s) return;
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
}
