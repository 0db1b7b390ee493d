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
 * `kube-bootstrap.yaml` (the bootstrap Job's). Then logs one JSON line
 * `{"msg":"ready","port":N}` (the spawnService contract) and serves until
 * SIGTERM.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { EDGE_USER, defaultPolicy, startKubeDouble } from "@daalu/kube-double";

const dir = process.env["BENCH_KUBE_DIR"];
if (!dir) {
  process.stderr.write("BENCH_KUBE_DIR is required\n");
  process.exit(2);
}
const kube = await startKubeDouble({ host: "127.0.0.1", port: Number(process.env["BENCH_KUBE_PORT"] ?? 0) });
// The agent reads the Secret the bootstrap Job wrote (the chart's Role grants the same).
kube.setRbac(EDGE_USER, [...defaultPolicy()[EDGE_USER]!, { apiGroups: [""], resources: ["secrets"], verbs: ["get"], namespaces: ["daalu-edge"] }]);
writeFileSync(path.join(dir, "kube-ca.pem"), kube.ca!);
writeFileSync(path.join(dir, "kube-edge.yaml"), kube.kubeconfig({ token: "edge-token", namespace: "daalu-edge" }));
writeFileSync(path.join(dir, "kube-bootstrap.yaml"), kube.kubeconfig({ token: "bootstrap-token", namespace: "daalu-edge" }));
process.stdout.write(`${JSON.stringify({ msg: "ready", port: kube.port, url: kube.url })}\n`);
for (const sig of ["SIGTERM", "SIGINT"] as const) process.once(sig, () => void kube.close().finally(() => process.exit(0)));
