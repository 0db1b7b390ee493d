/** Helpers for the edge's integration tests: a scripted hub stand-in, kube-double wiring, and running main.ts as a process. */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer as createHttp, type IncomingMessage, type ServerResponse, type Server } from "node:http";
import { createServer as createHttps } from "node:https";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { EDGE_NAMESPACE, startKubeDouble, type KubeDouble } from "@daalu/kube-double";
import { edgev1 } from "@daalu/proto";
import { bindGrpc, grpc, grpcDefinition } from "@daalu/runtime";
import { registerProxy, type EdgeProxyOptions } from "../src/proxy/index.js";

export const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../src/main.ts");

export interface HubRequest {
  body: { token?: string; publicKey?: string; [k: string]: unknown };
  raw: string;
}

/**
 * A stand-in for the gateway's POST /v1/bootstrap whose answers each test
 * scripts. It exercises the edge's HTTP client and retry policy; the e2e tests
 * use the real gateway + invite + peering.
 */
export async function startHubStandIn(
  handler: (req: HubRequest, res: ServerResponse, n: number) => void,
  tls?: { key: string; cert: string },
): Promise<{ url: string; requests: HubRequest[]; close(): Promise<void> }> {
  const requests: HubRequest[] = [];
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    let raw = "";
    req.on("data", (c: Buffer) => (raw += c.toString()));
    req.on("end", () => {
      let body: HubRequest["body"] = {};
      try {
        body = JSON.parse(raw) as HubRequest["body"];
      } catch {
        // keep {}
      }
      const r = { body, raw };
      requests.push(r);
      if (req.method !== "POST" || req.url !== "/v1/bootstrap") {
        res.writeHead(404).end();
        return;
      }
      handler(r, res, requests.length);
    });
  };
  const server: Server = tls ? createHttps(tls, onRequest) : createHttp(onRequest);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `${tls ? "https" : "http"}://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export function problem(res: ServerResponse, status: number, reason: string, detail: string): void {
  res.writeHead(status, { "content-type": "application/problem+json" }).end(JSON.stringify({ type: `https://daalu.dev/problems/${reason.toLowerCase()}`, title: reason, status, detail, reason }));
}

/** A kube-double plus kubeconfig files for the bootstrap Job's and the Deployment's ServiceAccounts. */
export async function startKube(): Promise<{ kube: KubeDouble; bootstrapKubeconfig: string; edgeKubeconfig: string; adminKubeconfig: string; close(): Promise<void> }> {
  const kube = await startKubeDouble();
  const dir = mkdtempSync(path.join(tmpdir(), "edge-test-"));
  const write = (name: string, token: string) => {
    const f = path.join(dir, name);
    writeFileSync(f, kube.kubeconfig({ token, namespace: EDGE_NAMESPACE }));
    return f;
  };
  return {
    kube,
    bootstrapKubeconfig: write("bootstrap.yaml", "bootstrap-token"),
    edgeKubeconfig: write("edge.yaml", "edge-token"),
    adminKubeconfig: write("admin.yaml", "admin-token"),
    async close() {
      await kube.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Decoded data of the tunnel Secret as the double stores it, or undefined. */
export function secretData(kube: KubeDouble, name = "daalu-edge-tunnel"): Record<string, string> | undefined {
  const s = kube.store.get("secrets", EDGE_NAMESPACE, name) as { data?: Record<string, string>; stringData?: Record<string, string> } | undefined;
  if (!s) return undefined;
  const out: Record<string, string> = { ...s.stringData };
  for (const [k, v] of Object.entries(s.data ?? {})) out[k] = Buffer.from(v, "base64").toString("utf8");
  return out;
}

/** The `msg` fields of the JSON log lines (and raw lines that are not JSON), for readable assertions. */
export function messages(output: string): string {
  return output
    .split("\n")
    .filter(Boolean)
    .map((l) => {
      try {
        return String((JSON.parse(l) as { msg?: unknown }).msg);
      } catch {
        return l;
      }
    })
    .join("\n");
}

/** Runs `edge <mode>` as its own process (the real exit code); resolves when it exits. */
export function runEdge(mode: string, env: Record<string, string>, timeoutMs = 180_000): Promise<{ code: number | null; output: string; elapsedMs: number }> {
  const start = Date.now();
  const child = spawn(process.execPath, ["--import", "tsx", MAIN, mode], {
    env: { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "/tmp", LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (b: Buffer) => (output += b.toString()));
  child.stderr.on("data", (b: Buffer) => (output += b.toString()));
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  return new Promise((resolve) =>
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, output, elapsedMs: Date.now() - start });
    }),
  );
}

/**
 * A grpc-js client of EdgeService with the raw (untyped) Proxy method, as the tunnel-proxy holds one.
 * A slow reader of Proxy reads with a `data` listener and pauses in it: a call paused before its
 * first read buffers every message in grpc-js without bound (docs/architecture.md).
 */
export type RawProxyClient = grpc.Client & Record<string, (req: unknown, md: grpc.Metadata, o: grpc.CallOptions) => grpc.ClientReadableStream<edgev1.ProxyResponse>>;

/** The edge's Proxy RPC on a loopback gRPC server (the tunnel's stand-in) and a client of it. */
export async function startProxyServer(opts: EdgeProxyOptions): Promise<{ client: RawProxyClient; close(): void }> {
  const server = new grpc.Server();
  registerProxy(server, opts);
  const port = await bindGrpc(server, "127.0.0.1:0");
  const Ctor = grpc.makeGenericClientConstructor(grpcDefinition(edgev1.EdgeService), "EdgeService");
  const client = new Ctor(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as RawProxyClient;
  return {
    client,
    close() {
      client.close();
      server.forceShutdown();
    },
  };
}
