/**
 * The edge's WireGuard private key (its tunnel Secret) must be unreachable
 * through the hub by every path: kubectl get/list/watch, `--raw`, JSON, Table
 * and protobuf Accept headers. Run twice:
 * - the API server's RBAC grants the proxy account every Secret, so what
 *   refuses is the edge itself (edge/src/proxy/policy.ts);
 * - the chart's RBAC, so the identity split is tested too: proxied calls reach
 *   the API server as the proxy account (no Secrets), never as the pod's own
 *   account (which may get the tunnel Secret).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { EDGE_NAMESPACE, EDGE_PROXY_USER, EDGE_TUNNEL_SECRET, EDGE_USER, defaultPolicy, type KubeDouble } from "@daalu/kube-double";
import type { Kubectl } from "./kubectl-cases.js";

export interface SecretCasesContext {
  /** kubectl with the hub's kubeconfig (a viewer token). */
  hub: Kubectl;
  /** kubectl straight at the API server as the proxy account. */
  direct: Kubectl;
  kube: KubeDouble;
  /** The path of the cluster's API on the hub (`/k8s/clusters/<id>`): `kubectl get --raw` ignores the kubeconfig server's path. */
  rawPrefix: string;
  /** A GET through the hub with the viewer token and this Accept header. */
  hubGet(path: string, accept: string): Promise<{ status: number; contentType: string; body: string }>;
}

/** How kubectl prints the edge's refusal. */
export const EDGE_REFUSAL = /Error from server \(Forbidden\): secrets( "[^"]+")? is forbidden: the Daalu edge never serves the Secrets of its own namespace "daalu-edge"/;

const KEY_MARKER = Buffer.from("tunnel-private-key-marker-0123456789abcdef").toString("base64");

/** The tunnel Secret's private key as stored (base64) and decoded; a marker Secret is written when the suite has none. */
function tunnelKey(kube: KubeDouble): string[] {
  let s = kube.store.get("secrets", EDGE_NAMESPACE, EDGE_TUNNEL_SECRET) as { data?: Record<string, string> } | undefined;
  if (!s) s = kube.store.put({ apiVersion: "v1", kind: "Secret", metadata: { name: EDGE_TUNNEL_SECRET, namespace: EDGE_NAMESPACE }, type: "Opaque", data: { "private-key": KEY_MARKER } }) as { data?: Record<string, string> };
  const b64 = s.data?.["private-key"];
  assert.ok(b64, "the tunnel Secret holds a private key");
  return [b64, Buffer.from(b64, "base64").toString("utf8")];
}

const S = EDGE_TUNNEL_SECRET;
const NS = EDGE_NAMESPACE;
/** Every way kubectl reaches a Secret; `--raw` paths start with `raw` (the hub's prefix of the cluster). */
export const secretCommands = (raw: string): readonly string[][] => [
  ["get", "secret", S, "-n", NS, "-o", "yaml"],
  ["get", "secret", S, "-n", NS, "-o", "json"],
  ["get", "secret", S, "-n", NS, "-o", "jsonpath={.data.private-key}"],
  ["get", "secret", S, "-n", NS],
  ["get", "secrets", "-n", NS, "-o", "json"],
  ["get", "secrets", "-A"],
  ["get", "secrets", "-A", "-o", "json"],
  ["describe", "secret", S, "-n", NS],
  ["get", "--raw", `${raw}/api/v1/namespaces/${NS}/secrets/${S}`],
  ["get", "--raw", `${raw}/api/v1/namespaces/${NS}/%73ecrets/${S}`],
  ["get", "--raw", `${raw}/api/v1/namespaces/${NS}//secrets/${S}`],
  ["get", "--raw", `${raw}/api/v1/namespaces/${NS}/secrets/`],
  ["get", "--raw", `${raw}/api/v1/secrets`],
  ["get", "--raw", `${raw}/api/v1/secrets?watch=1&timeoutSeconds=2`],
  ["get", "--raw", `${raw}/api/v1/watch/namespaces/${NS}/secrets/${S}`],
  // Watches: kubectl lists first, and the list is refused at once (bounded by the run timeout anyway).
  ["get", "secrets", "-n", NS, "-w"],
  ["get", "secrets", "-A", "-w"],
  ["get", "secret", S, "-n", NS, "-w", "-o", "yaml"],
];

const ACCEPTS = ["application/json", "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json", "application/vnd.kubernetes.protobuf", "application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io,application/json"];
const RAW_PATHS = [`/api/v1/namespaces/${NS}/secrets/${S}`, `/api/v1/namespaces/${NS}/secrets`, `/api/v1/namespaces/${NS}/secrets?watch=true`, "/api/v1/secrets", `/api/v1/namespaces/${NS}/SECRETS/${S}.`];

export function tunnelSecretCases(ctx: () => SecretCasesContext): void {
  for (const grant of [true, false]) {
    const what = grant ? "RBAC grants the proxy account every Secret, the edge refuses" : "the chart's RBAC, proxied calls run as the proxy account";
    test(`the edge's private key is unreachable through the hub (${what})`, async (t) => {
      const { hub, direct, kube, hubGet, rawPrefix } = ctx();
      const key = tunnelKey(kube);
      if (grant) {
        kube.setRbac(EDGE_PROXY_USER, [...defaultPolicy()[EDGE_PROXY_USER]!, { apiGroups: [""], resources: ["secrets"], verbs: ["get", "list", "watch"] }]);
        t.after(() => kube.setRbac(EDGE_PROXY_USER, defaultPolicy()[EDGE_PROXY_USER]!));
      }
      const from = kube.requests.length;
      for (const args of secretCommands(rawPrefix)) {
        const r = await hub.run(args, 15_000);
        const said = `kubectl ${args.join(" ")}: exit ${r.code}\n${r.out}\n${r.err}`;
        assert.notEqual(r.code, 0, said);
        for (const k of key) assert.ok(!(r.out + r.err).includes(k), `${said}\nleaks the key`);
        assert.match(r.err, EDGE_REFUSAL, said);
      }
      for (const path of RAW_PATHS) {
        for (const accept of ACCEPTS) {
          const r = await hubGet(path, accept);
          assert.equal(r.status, 403, `${path} (${accept}): ${r.body}`);
          assert.match(r.contentType, /^application\/json/);
          assert.equal(JSON.parse(r.body).reason, "Forbidden");
          for (const k of key) assert.ok(!r.body.includes(k), `${path} (${accept}) leaks the key`);
        }
      }
      // None of it reached the API server (the edge's own reads of its Secret aside).
      assert.deepEqual(kube.requests.slice(from).filter((q) => q.resource === "secrets" && q.user !== EDGE_USER).map((q) => q.path), []);

      if (!grant) {
        // The split itself: proxied calls arrive as the proxy account, which RBAC refuses the Secret.
        const at = kube.requests.length;
        const pods = await hub.run(["get", "pods", "-n", NS]);
        assert.equal(pods.code, 0, pods.err);
        const users = new Set(kube.requests.slice(at).filter((q) => q.namespace === NS).map((q) => q.user));
        assert.deepEqual([...users], [EDGE_PROXY_USER]);
        const straight = await direct.run(["get", "secret", S, "-n", NS, "-o", "yaml"]);
        assert.notEqual(straight.code, 0);
        assert.match(straight.err, new RegExp(`Error from server \\(Forbidden\\): secrets "${S}" is forbidden: User "${EDGE_PROXY_USER}" cannot get resource "secrets"`));
      }
    });
  }
}
