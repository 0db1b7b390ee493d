/**
 * The customer's Kubernetes API server for the proxy bench: the kube-double in
 * a process of its own, started where the edge runs (the edge's network
 * namespace on the WireGuard path), so the edge reaches it over its own
 * loopback as a pod reaches its in-cluster API server.
 *
 *   BENCH_KUBE_DIR=<dir> [BENCH_KUBE_PORT=6443] node --import tsx bench/lib/kube-api.ts
 *
 * Writes into BENCH_KUBE_DIR: `kube-ca.pem`, `kube-edge.yaml` (the edge's
 * ServiceAccount, which may also read its tunnel Secret) and
 * `kube-bootstrap.yaml` (the bootstrap Job's). With BENCH_KUBE_SESSIONS=1
 * (bench portforward) the edge's proxy account may also exec and port-forward
 * in `default` (what the customer's `exec` scope patch grants), and port 80
 * of default/nginx forwards to a blob server in this process: a client
 * writes a byte count and a newline, the server answers that many bytes and
 * ends. Then logs one JSON line
 * `{"msg":"ready","port":N}` (the spawnService contract) and serves until
 * SIGTERM.
 */
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { EDGE_PROXY_USER, EDGE_USER, defaultPolicy, startKubeDouble } from "@daalu/kube-double";

const dir = process.env["BENCH_KUBE_DIR"];
if (!dir) {
  process.stderr.write("BENCH_KUBE_DIR is required\n");
  process.exit(2);
}
const kube = await startKubeDouble({ host: "127.0.0.1", port: Number(process.env["BENCH_KUBE_PORT"] ?? 0) });
// The agent reads the Secret the bootstrap Job wrote (the chart's Role grants the same).
kube.setRbac(EDGE_USER, [...defaultPolicy()[EDGE_USER]!, { apiGroups: [""], resources: ["secrets"], verbs: ["get"], namespaces: ["daalu-edge"] }]);
if (process.env["BENCH_KUBE_SESSIONS"] === "1") {
  kube.setRbac(EDGE_PROXY_USER, [...defaultPolicy()[EDGE_PROXY_USER]!, { apiGroups: [""], resources: ["pods/exec", "pods/portforward"], verbs: ["create", "get"], namespaces: ["default"] }]);
  const block = randomBytes(1 << 20);
  const blob = net.createServer((sock) => {
    sock.setNoDelay(true);
    let line = "";
    const onData = (d: Buffer) => {
      line += d.toString("latin1");
      const nl = line.indexOf("\n");
      if (nl < 0) return;
      sock.removeListener("data", onData);
      let left = Number(line.slice(0, nl));
      const more = () => {
        while (left > 0) {
          const part = left >= block.length ? block : block.subarray(0, left);
          left -= part.length;
          if (!sock.write(part)) return void sock.once("drain", more);
        }
        sock.end();
      };
      more();
    };
    sock.on("data", onData);
    sock.on("error", () => sock.destroy());
  });
  await new Promise<void>((r) => blob.listen(0, "127.0.0.1", r));
  kube.setPortTarget("default", "nginx", 80, `127.0.0.1:${(blob.address() as net.AddressInfo).port}`);
}
writeFileSync(path.join(dir, "kube-ca.pem"), kube.ca!);
writeFileSync(path.join(dir, "kube-edge.yaml"), kube.kubeconfig({ token: "edge-token", namespace: "daalu-edge" }));
writeFileSync(path.join(dir, "kube-bootstrap.yaml"), kube.kubeconfig({ token: "bootstrap-token", namespace: "daalu-edge" }));
process.stdout.write(`${JSON.stringify({ msg: "ready", port: kube.port, url: kube.url })}\n`);
for (const sig of ["SIGTERM", "SIGINT"] as const) process.once(sig, () => void kube.close().finally(() => process.exit(0)));
