/**
 * Test helper process: runs inside a network namespace (`ip netns exec`) and
 * drives one WireGuard device on behalf of a test in the root namespace, via
 * JSON lines on stdin/stdout. Also offers a TCP echo server/client so tests can
 * prove traffic crosses the tunnel. Not a production entrypoint.
 */
import { createServer, connect, type Server } from "node:net";
import { createInterface } from "node:readline";
import { edgev1 } from "@daalu/proto";
import { bindGrpc, createLogger, grpc, serveGrpc, type MethodsOf, type ServiceImpl } from "@daalu/runtime";
import { openDevice, type PeerConfig, type WgDevice } from "../src/index.js";

let dev: WgDevice | undefined;
const servers: Server[] = [];
/** What the fake EdgeService answers (see `serveEdge`). */
let edgeStatus = {
  edgeVersion: "test-edge",
  apiReachable: true,
  apiError: "",
  kubernetesVersion: "v1.31.0",
  nodeCount: 1,
  nodesReady: 1,
  // The proxy account's rules, as a real edge reports them (the hub node stores them: RBAC widening).
  effectiveRules: [{ verbs: ["get", "list", "watch"], apiGroups: [""], resources: ["pods"], resourceNames: [] }],
  effectiveRulesAt: { seconds: BigInt(Math.floor(Date.now() / 1000)), nanos: 0 },
};

function device(): WgDevice {
  if (!dev) throw new Error("no device open");
  return dev;
}

function tcpEcho(host: string, port: number, message: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port, timeout: timeoutMs });
    let got = "";
    s.on("connect", () => s.end(message));
    s.on("data", (d) => (got += d.toString()));
    s.on("end", () => resolve(got));
    s.on("timeout", () => {
      s.destroy();
      reject(new Error("tcp timeout"));
    });
    s.on("error", reject);
  });
}

/** Each op declares the args it reads; `never` lets every op keep its own parameter type. */
const ops: Record<string, (a: never) => Promise<unknown>> = {
  async open(a: { name: string }) {
    dev = await openDevice(a.name);
    return { name: dev.name, backend: dev.backend };
  },
  configure: (a) => device().configure(a),
  setPeer: (a) => device().setPeer(a),
  removePeer: (a: { publicKey: string }) => device().removePeer(a.publicKey),
  peers: () => device().peers(),
  addAddress: (a: { cidr: string }) => device().addAddress(a.cidr),
  addRoute: (a: { cidr: string; src?: string }) => device().addRoute(a.cidr, a.src ? { src: a.src } : {}),
  setPeers: (a: { set: PeerConfig[]; remove?: string[] }) => device().setPeers(a.set, a.remove),
  addAddresses: (a: { cidrs: string[] }) => device().addAddresses(a.cidrs),
  // Conflicts by cidr, as their messages and reasons.
  addRoutes: async (a: { routes: Array<{ cidr: string; src?: string }> }) =>
    Object.fromEntries([...(await device().addRoutes(a.routes))].map(([cidr, e]) => [cidr, { message: e.message, reason: e.reason }])),
  async close() {
    await device().close();
    dev = undefined;
  },
  async listen(a: { host: string; port: number }) {
    const srv = createServer((c) => c.pipe(c));
    servers.push(srv);
    await new Promise<void>((res, rej) => srv.listen(a.port, a.host, () => res()).once("error", rej));
  },
  /** A stand-in EdgeService (the contract the hub probes) on host:port. */
  async serveEdge(a: { host: string; port: number }) {
    const server = new grpc.Server();
    // Only the unary GetStatus: serveGrpc skips streaming methods such as Proxy.
    const impl = { getStatus: async () => edgeStatus } as unknown as ServiceImpl<MethodsOf<typeof edgev1.EdgeService>>;
    serveGrpc(server, edgev1.EdgeService, impl, createLogger("ns-agent", "silent"));
    await bindGrpc(server, `${a.host}:${a.port}`);
  },
  async setEdge(a: Partial<typeof edgeStatus>) {
    edgeStatus = { ...edgeStatus, ...a };
  },
  tcp: (a: { host: string; port: number; message: string; timeoutMs?: number }) => tcpEcho(a.host, a.port, a.message, a.timeoutMs ?? 2000),
};

createInterface({ input: process.stdin }).on("line", (line) => {
  const req = JSON.parse(line) as { id: number; op: string; args?: unknown };
  const fn = ops[req.op];
  // The test in the root namespace sends each op the args it declares (netns.ts call(op, args)).
  void (fn ? fn((req.args ?? {}) as never) : Promise.reject(new Error(`unknown op ${req.op}`))).then(
    (result) => process.stdout.write(`${JSON.stringify({ id: req.id, ok: true, result })}\n`),
    (err: Error & { reason?: string }) => process.stdout.write(`${JSON.stringify({ id: req.id, ok: false, error: err.message, reason: err.reason })}\n`),
  );
});
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
