import { after, before } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { edgeAsPod } from "./k8s-harness.js";
import { startSessionStack, type SessionStack } from "./session-harness.js";
import { sessionKubectlCases, type SessionRow } from "./session-kubectl-cases.js";

// The real kubectl exec, attach, cp and port-forward through the hub: gateway (upgrade) -> NATS duplex stream ->
// tunnel-proxy -> the edge's Session RPC (loopback gRPC, no WireGuard) -> the kube-double, as the edge's proxy
// ServiceAccount. The cases (session-kubectl-cases.ts) are e2e/sessions-tunnel.test.ts's, there over real WireGuard.

let s: SessionStack;
let dir: string;
let operator: string;
let viewer: string;

async function kubeconfigFor(token: string, name: string): Promise<string> {
  const kc = await fetch(`${s.gw.httpUrl}/v1/clusters/${s.cluster}/kubeconfig?token=include`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(kc.status, 200, await kc.clone().text());
  const file = path.join(dir, `${name}.kubeconfig`);
  writeFileSync(file, await kc.text(), { mode: 0o600 });
  return file;
}

async function sessionRows(): Promise<SessionRow[]> {
  const db = new pg.Client({ connectionString: s.env.databaseUrl });
  await db.connect();
  try {
    return (await db.query<SessionRow>(`select session_phase, session_command, subresource, bytes_in, bytes_out from audit.calls where cluster_id = $1 and session_phase > 0`, [s.cluster])).rows;
  } finally {
    await db.end();
  }
}

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "k8s-exec-kubectl-"));
  s = await startSessionStack({}, { edgeApiServer: edgeAsPod(dir) });
  operator = await kubeconfigFor(s.acme.operator, "operator");
  viewer = await kubeconfigFor(s.acme.viewer, "viewer");
});
after(async () => {
  await s?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

sessionKubectlCases(() => ({
  operatorKubeconfig: operator,
  viewerKubeconfig: viewer,
  url: s.gw.url,
  ca: s.gw.ca,
  clusterId: s.cluster,
  viewerToken: s.acme.viewer,
  assistantToken: s.acme.assistant,
  kube: s.stack.kube,
  sessionRows,
}));
