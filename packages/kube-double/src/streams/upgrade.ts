/**
 * Upgraded requests: `pods/exec`, `pods/attach` and `pods/portforward` over
 * WebSocket (the `ws` library does the handshake and framing). The request
 * is authenticated and authorized like any other first; a WebSocket upgrade
 * is a GET, so it needs `get` on the subresource and, as the API server also
 * checks for these upgrades, `create`. SPDY/3.1 upgrades (raw, a POST, which
 * needs `create`; or SPDY tunnelled in a WebSocket,
 * `SPDY/3.1+portforward.k8s.io`, what kubectl 1.31+ uses for port-forward)
 * are authorized the same way and then handed to the Go translator
 * (spdy-bridge.ts); without its binary they are refused with a 400 Status.
 * The one Node SPDY/3.1 library, spdy-transport (last release 2018), is built
 * for HTTP over SPDY: its parser refuses every SYN_STREAM without `:method`
 * and `:path`, and Kubernetes streams carry only `streamType`, `port` and
 * `requestID` headers, so it cannot serve them; SPDY framing is not written
 * by hand here.
 */
import type http from "node:http";
import { STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer, type WebSocket } from "ws";
import { authorize, policyFor, type KubeUser } from "../rbac.js";
import { parseResourcePath } from "../request.js";
import type { RequestRecord, ServerState } from "../state.js";
import { badRequest, forbidden, KubeStatusError, notFound, pathNotFound, unauthorized, type StatusBody } from "../status.js";
import { ChannelConn, pickProtocol, PORT_FORWARD_PROTOCOLS, REMOTE_COMMAND_PROTOCOLS } from "./channel.js";
import { PodFs } from "./pod-fs.js";
import { servePortForward } from "./port-forward.js";
import { serveRemoteCommand } from "./remote-command.js";
import { SessionLog } from "./sessions.js";
import { fromBridge, handToBridge, wantsSpdy } from "./spdy-bridge.js";

export const STREAM_SUBRESOURCES = ["exec", "attach", "portforward"] as const;

/** Per-pod state behind the streams: file systems, port-forward targets, the session log. */
export class StreamRuntime {
  readonly sessions = new SessionLog();
  private readonly filesystems = new Map<string, PodFs>();
  private readonly targets = new Map<string, string>();
  private readonly sockets = new Set<WebSocket>();
  /** Port-forward connections handed to the SPDY translator, by pod: a deleted pod's are cut, as the kubelet's are. */
  private readonly bridged = new Map<string, Set<Duplex>>();
  readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, handleProtocols: (_offered, req) => this.chosen.get(req) ?? false });
  readonly chosen = new WeakMap<http.IncomingMessage, string>();

  constructor(private readonly state: ServerState) {
    // A deleted pod's container is gone: its streams end and its files with it.
    state.store.subscribe((e) => {
      if (e.type !== "DELETED" || e.resource.plural !== "pods") return;
      const ns = String(e.object.metadata["namespace"]);
      const pod = String(e.object.metadata["name"]);
      this.sessions.closeAll("pod-deleted", ns, pod);
      this.filesystems.delete(`${ns}/${pod}`);
      // The SPDY connection itself ends (its streams' WebSockets ended above): kubectl port-forward says "lost connection to pod".
      for (const s of this.bridged.get(`${ns}/${pod}`) ?? []) s.destroy();
      this.bridged.delete(`${ns}/${pod}`);
    });
  }

  fs(namespace: string, pod: string): PodFs {
    const k = `${namespace}/${pod}`;
    let f = this.filesystems.get(k);
    if (!f) this.filesystems.set(k, (f = new PodFs(pod)));
    return f;
  }

  setPortTarget(namespace: string, pod: string, port: number, target: string | undefined): void {
    const k = `${namespace}/${pod}:${port}`;
    if (target === undefined) this.targets.delete(k);
    else this.targets.set(k, target);
  }

  portTarget(namespace: string, pod: string, port: number): string | undefined {
    return this.targets.get(`${namespace}/${pod}:${port}`);
  }

  /** A port-forward connection handed to the SPDY translator, cut when its pod is deleted. */
  trackBridged(namespace: string, pod: string, socket: Duplex): void {
    const k = `${namespace}/${pod}`;
    let set = this.bridged.get(k);
    if (!set) this.bridged.set(k, (set = new Set()));
    set.add(socket);
    socket.once("close", () => set.delete(socket));
  }

  track(ws: WebSocket): void {
    this.sockets.add(ws);
    ws.on("close", () => this.sockets.delete(ws));
  }

  close(): void {
    this.sessions.closeAll("server-closed");
    for (const ws of this.sockets) ws.terminate();
  }
}

/** Answer an upgrade request with a Status (the handshake is refused; kubectl prints the Status). */
function reject(socket: Duplex, s: StatusBody): void {
  const body = JSON.stringify(s);
  socket.end(`HTTP/1.1 ${s.code} ${STATUS_CODES[s.code] ?? ""}\r\nCache-Control: no-cache, private\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

const INTERNAL: StatusBody = { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message: "Internal error occurred: kube-double failed to handle the request", reason: "InternalError", code: 500 };
/** Without the translator's binary (scripts/ensure-go-spdy.sh builds it). */
const NO_SPDY = badRequest("kube-double serves SPDY/3.1 through its Go translator, which is not built (run scripts/ensure-go-spdy.sh); WebSocket (v5.channel.k8s.io, v4.channel.k8s.io) is served").status;

const flag = (q: URLSearchParams, name: string) => ["true", "1"].includes(q.get(name) ?? "");

export function createUpgradeHandler(state: ServerState, rt: StreamRuntime, authenticate: (req: http.IncomingMessage) => KubeUser | undefined) {
  function check(req: http.IncomingMessage, rec: RequestRecord) {
    const url = new URL(req.url ?? "/", "http://kube-double");
    const user = authenticate(req);
    if (!user) throw unauthorized();
    rec.user = user.name;
    const segs = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
    const rr = parseResourcePath(segs);
    if (rr === undefined || rr === "discovery" || rr.plural !== "pods" || !rr.name || !rr.namespace || !STREAM_SUBRESOURCES.includes(rr.subresource as never)) throw pathNotFound();
    // The SPDY translator's WebSocket stands for the client's SPDY request, a POST (see spdy-bridge.ts).
    const verb = req.method === "POST" || fromBridge(req) ? "create" : "get";
    Object.assign(rec, { verb, resource: "pods", subresource: rr.subresource, namespace: rr.namespace, name: rr.name });
    const attrs = { user, verb, group: "", plural: "pods", subresource: rr.subresource!, namespace: rr.namespace, name: rr.name };
    // The bootstrap policy plus the ClusterRoles and bindings written through the API, as for every other request.
    const policy = policyFor(state.policy, state.store, user);
    if (!authorize(policy, attrs)) throw forbidden({ ...attrs, user: user.name });
    // A WebSocket upgrade is a GET, but opens a process or a connection: it needs create as well.
    if (verb === "get" && !authorize(policy, { ...attrs, verb: "create" })) throw forbidden({ ...attrs, verb: "create", user: user.name });
    const pod = state.store.get("pods", rr.namespace, rr.name);
    if (!pod) throw notFound({ group: "", plural: "pods" }, rr.name);
    const phase = String(pod["status"]?.["phase"] ?? "");
    if (phase === "Succeeded" || phase === "Failed") throw badRequest(`cannot ${rr.subresource === "portforward" ? "port-forward to" : rr.subresource === "attach" ? "attach to" : "exec into"} a container in a completed pod; current phase is ${phase}`);
    return { url, user, rr: { ...rr, namespace: rr.namespace, name: rr.name, subresource: rr.subresource as (typeof STREAM_SUBRESOURCES)[number] }, pod };
  }

  return function handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    const rec: RequestRecord = { method: req.method ?? "GET", path: new URL(req.url ?? "/", "http://kube-double").pathname, query: Object.fromEntries(new URL(req.url ?? "/", "http://kube-double").searchParams) };
    state.requests.push(rec);
    socket.on("error", () => socket.destroy());
    try {
      const { url, user, rr, pod } = check(req, rec);
      const q = url.searchParams;
      const upgrade = String(req.headers.upgrade ?? "").toLowerCase();
      const offered = new Set(String(req.headers["sec-websocket-protocol"] ?? "").split(",").map((s) => s.trim()).filter(Boolean));
      const spdy = wantsSpdy(req, offered);
      if (!spdy && upgrade !== "websocket") throw badRequest(`unsupported upgrade ${upgrade || "(none)"}`);
      const containers = ((pod["spec"]?.["containers"] ?? []) as { name: string }[]).map((c) => c.name);
      const container = q.get("container") ?? containers[0] ?? "";
      if (rr.subresource !== "portforward" && !containers.includes(container)) throw badRequest(`container ${container} is not valid for pod ${rr.name}`);
      const command = q.getAll("command");
      if (rr.subresource === "exec" && command.length === 0) throw badRequest("you must specify at least 1 command");
      if (spdy) {
        // SPDY port-forward names its ports in stream headers, not in the query.
        const refuse = (status: StatusBody) => {
          rec.status = status.code;
          reject(socket, status);
        };
        handToBridge(req, socket, head).then(
          (handed) => {
            if (!handed) return refuse(NO_SPDY);
            rec.status = 101;
            if (rr.subresource === "portforward") rt.trackBridged(rr.namespace, rr.name, socket);
          },
          () => refuse(INTERNAL),
        );
        return;
      }
      const protocol = pickProtocol(offered, rr.subresource === "portforward" ? PORT_FORWARD_PROTOCOLS : REMOTE_COMMAND_PROTOCOLS);
      if (protocol === undefined) throw badRequest(`none of the requested subprotocols (${[...offered].join(", ")}) is supported`);
      const ports = [...q.getAll("ports"), ...q.getAll("port")].flatMap((p) => p.split(",")).map((p) => Number(p.trim()));
      if (rr.subresource === "portforward" && (ports.length === 0 || ports.some((p) => !Number.isInteger(p) || p < 1 || p > 65535))) throw badRequest("at least one valid port (1-65535) is required in the ports query parameter");
      if (protocol) rt.chosen.set(req, protocol);
      rt.wss.handleUpgrade(req, socket, head, (ws) => {
        rec.status = 101;
        rt.track(ws);
        const conn = new ChannelConn(ws, protocol || "channel.k8s.io");
        if (rr.subresource === "portforward") {
          servePortForward(conn, { namespace: rr.namespace, pod: rr.name, ports, user: user.name }, rt.sessions, (port) => rt.portTarget(rr.namespace, rr.name, port));
          return;
        }
        const stdin = flag(q, "stdin");
        const tty = flag(q, "tty");
        serveRemoteCommand(conn, {
          kind: rr.subresource, namespace: rr.namespace, pod: rr.name, container, command, user: user.name,
          stdin, stdout: flag(q, "stdout"), stderr: flag(q, "stderr") && !tty, tty,
        }, { fs: rt.fs(rr.namespace, rr.name), logs: state.logs, sessions: rt.sessions });
      });
    } catch (err) {
      const s: StatusBody = err instanceof KubeStatusError ? err.status : INTERNAL;
      rec.status = s.code;
      reject(socket, s);
    }
  };
}
