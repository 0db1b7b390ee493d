/**
 * kubectl parity beyond the first cases (issue 15): output formats, sorting,
 * selectors, chunked lists, `get all`, discovery, `explain`, describe, the
 * logs variants, events, rollout history, watch events, `wait`, the access
 * reviews (`auth can-i`, `--list`, `whoami`) and raw health/version paths.
 * Each command runs both ways with the same Kubectl as kubectl-cases.ts
 * (through the hub's kubeconfig, and straight at the same kube-double as the
 * edge's proxy ServiceAccount) and wants equal exit codes and equal output
 * after maskAge. Registered by the suite that owns the stack
 * (k8s-kubectl.test.ts), so one stack serves both lists.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { eventually } from "@daalu/testing";
import { maskAge, type KubectlCasesContext, type KubectlResult } from "./kubectl-cases.js";

/** What the parity cases need beyond the shared context. */
export interface ParityContext extends KubectlCasesContext {
  /** The hub kubeconfig server's path, `/k8s/clusters/<id>`: older kubectl's `get --raw` needs it spelled out. */
  rawPrefix: string;
}

/** Answered "no" (exit 1) both ways. */
const CAN_I_NO = [["auth", "can-i", "delete", "pods", "-n", "shop"], ["auth", "can-i", "get", "secrets", "-n", "shop"]];
/** The worker Deployment is not Available: `wait` times out (exit 1) both ways. */
const WAIT_TIMES_OUT = ["wait", "--for=condition=Available", "deployment/worker", "-n", "shop", "--timeout=1s"];

/** Every command of the list, run as is both ways; all but CAN_I_NO and WAIT_TIMES_OUT succeed. */
export const PARITY_ARGS: readonly string[][] = [
  ["get", "deployments", "-n", "shop", "-o", "wide"],
  ["get", "deployment", "web", "-n", "shop", "-o", "yaml"],
  ["get", "pods", "-n", "shop", "-o", "json"],
  ["get", "pods", "-A", "-o", "name"],
  ["get", "pods", "-n", "shop", "-o", "jsonpath={range .items[*]}{.metadata.name}{\"\\t\"}{.status.phase}{\"\\n\"}{end}"],
  ["get", "pods", "-n", "shop", "-o", "custom-columns=NAME:.metadata.name,NODE:.spec.nodeName,PHASE:.status.phase"],
  ["get", "services", "-A", "-o", "go-template={{range .items}}{{.metadata.namespace}}/{{.metadata.name}} {{.spec.clusterIP}}\n{{end}}"],
  ["get", "pods", "-A", "--sort-by=.metadata.creationTimestamp"],
  ["get", "pods", "-n", "shop", "--sort-by=.status.containerStatuses[0].restartCount", "-o", "name"],
  ["get", "pods", "-n", "shop", "-l", "app=web"],
  ["get", "pods", "-A", "-l", "app in (web,worker),app!=api"],
  ["get", "pods", "-A", "-l", "!app"],
  ["get", "pods", "-A", "--field-selector", "status.phase!=Running,metadata.namespace=shop"],
  ["get", "pods", "-A", "--chunk-size=1"],
  ["get", "all", "-n", "shop"],
  ["api-resources"],
  ["api-resources", "--api-group=apps", "-o", "wide"],
  ["api-versions"],
  ["explain", "pods"],
  ["explain", "deployment.spec.strategy.rollingUpdate"],
  ["describe", "deployment", "web", "-n", "shop"],
  ["describe", "node", "worker-1"],
  ["logs", "nginx", "--since=24h"],
  ["logs", "nginx", "--timestamps", "--tail=2"],
  ["logs", "-n", "shop", "-l", "app=web", "--tail=1"],
  ["logs", "-n", "shop", "web-cgjdfcgjxd-dmfde", "--all-containers"],
  ["logs", "nginx", "--limit-bytes=12"],
  ["events", "-A"],
  ["events", "-n", "shop", "--for", "pod/worker-fgnncblcch-jbcbd"],
  ["rollout", "history", "deployment/web", "-n", "shop"],
  ["wait", "--for=condition=Available", "deployment/web", "-n", "shop", "--timeout=5s"],
  WAIT_TIMES_OUT,
  ["auth", "can-i", "list", "pods", "-n", "shop"],
  CAN_I_NO[0]!,
  CAN_I_NO[1]!,
  ["auth", "can-i", "--list", "-n", "shop"],
  ["auth", "whoami"],
  ["auth", "whoami", "-o", "json"],
];

/**
 * A review object (`whoami -o json`) is created by the request, so the API server stamps it with the second it
 * answered: two runs a moment apart may straddle a second. Only that field of a review is masked.
 */
const maskReviewTime = (s: string) => (/"kind": "SelfSubjectReview"/.test(s) ? s.replace(/"creationTimestamp": "[^"]*"/, '"creationTimestamp": "<now>"') : s);

/** The two runs agree: exit code, stdout and stderr after maskAge. */
function assertSame(hub: KubectlResult, direct: KubectlResult): void {
  assert.equal(hub.code, direct.code, `exit codes differ:\nhub: ${hub.err}\ndirect: ${direct.err}`);
  assert.equal(maskReviewTime(maskAge(hub.out)), maskReviewTime(maskAge(direct.out)));
  assert.equal(maskAge(hub.err), maskAge(direct.err));
}

export function kubectlParityCases(ctx: () => ParityContext): void {
  for (const args of PARITY_ARGS) {
    test(`parity: kubectl ${args.join(" ")}`, async () => {
      const { hub, direct } = ctx();
      const d = await direct.run(args);
      const h = await hub.run(args);
      assertSame(h, d);
      // Equal failures or empty outputs would prove nothing.
      assert.equal(d.code, CAN_I_NO.includes(args as string[]) || args === WAIT_TIMES_OUT ? 1 : 0, d.err);
      assert.ok(d.out.length > 0 || d.err.length > 0, "kubectl printed something");
    });
  }

  test("parity: auth can-i answers yes and no as the edge's proxy account, through the hub too", async () => {
    const { hub } = ctx();
    assert.deepEqual(await hub.run(["auth", "can-i", "watch", "deployments.apps", "-A"]).then((r) => [r.code, r.out]), [0, "yes\n"]);
    assert.deepEqual(await hub.run(["auth", "can-i", "create", "pods"]).then((r) => [r.code, r.out]), [1, "no\n"]);
    const who = await hub.run(["auth", "whoami"]);
    assert.match(who.out, /Username\s+system:serviceaccount:daalu-edge:daalu-edge-proxy/);
  });

  test("parity: get --raw /readyz?verbose and /version with the full server path", async () => {
    const { hub, direct, rawPrefix } = ctx();
    for (const p of ["/readyz?verbose", "/version", "/livez", "/readyz/etcd"]) {
      const d = await direct.run(["get", "--raw", p]);
      const h = await hub.run(["get", "--raw", `${rawPrefix}${p}`]);
      assertSame(h, d);
      assert.equal(d.code, 0, d.err);
    }
    const verbose = await hub.run(["get", "--raw", `${rawPrefix}/readyz?verbose`]);
    assert.match(verbose.out, /\[\+\]etcd ok\n[\s\S]*readyz check passed\n$/);
  });

  test("older kubectl's get --raw without the cluster path gets the hub's Status with the fix, never the hub's own health", async () => {
    const { hub, direct } = ctx();
    const d = await direct.run(["get", "--raw", "/readyz?verbose"]);
    const h = await hub.run(["get", "--raw", "/readyz?verbose"]);
    if (h.code === 0) assertSame(h, d); // kubectl ≥ 1.34 keeps the server path: then it is the cluster's answer
    else {
      assert.equal(h.code, 1);
      assert.match(h.err, /Error from server \(NotFound\): \/readyz on the Daalu hub is not a cluster's: .*Use kubectl 1\.34 or later, or give the full server path: kubectl get --raw \/k8s\/clusters\/<cluster id>\/readyz/);
      assert.doesNotMatch(h.out + h.err, /"status":\s*"(ok|ready)"/);
    }
  });

  test("parity: writes are refused with a Status that says the hub is read-only and what to do", async () => {
    const { hub, kube } = ctx();
    const n0 = kube.requestCount({ method: "DELETE" });
    const r = await hub.run(["delete", "pod", "nginx"]);
    assert.equal(r.code, 1);
    assert.match(r.err, /Error from server \(MethodNotAllowed\): the Daalu hub is read-only for this cluster and refused DELETE \/api\/v1\/namespaces\/default\/pods\/nginx: .*use a kubeconfig of the cluster itself/);
    assert.equal(kube.requestCount({ method: "DELETE" }), n0, "nothing reached the API server");
  });

  test("parity: get -w --output-watch-events prints the same events both ways", async () => {
    const { hub, direct, kube } = ctx();
    const args = ["get", "services", "-n", "shop", "-w", "--output-watch-events"];
    const h = hub.spawn(args);
    const d = direct.spawn(args);
    try {
      const initial = kube.store.list("services", "shop").length;
      const lines = (s: string) => s.split("\n").filter((l) => /^(ADDED|MODIFIED|DELETED)\s/.test(l)).length;
      await eventually(() => assert.ok(lines(h.stdout()) >= initial && lines(d.stdout()) >= initial, "both listed the services"));
      kube.store.put({ apiVersion: "v1", kind: "Service", metadata: { name: "parity-watched", namespace: "shop" }, spec: { type: "ClusterIP", clusterIP: "10.0.0.88", ports: [{ port: 80, protocol: "TCP" }] } });
      await eventually(() => assert.ok(/ADDED\s+parity-watched/.test(h.stdout()) && /ADDED\s+parity-watched/.test(d.stdout())));
    } finally {
      await h.kill();
      await d.kill();
      kube.store.delete("services", "shop", "parity-watched");
    }
    assert.equal(maskAge(h.stdout()), maskAge(d.stdout()));
  });
}

/** Median, p90 and mean of kubectl's own per-request milliseconds. */
export function timingSummary(ms: readonly number[]): { n: number; median: number; p90: number; mean: number } {
  const s = [...ms].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0;
  return { n: s.length, median: at(0.5), p90: at(0.9), mean: Math.round((s.reduce((a, b) => a + b, 0) / Math.max(1, s.length)) * 10) / 10 };
}

/**
 * Registered last: kubectl's own `-v=6` timings of every completed request
 * the suite made, through the hub and direct, as test diagnostics (the
 * figures docs/kubectl.md quotes). Streams (watch, logs -f) are left out:
 * kubectl times them until the head only, and both ways wait the same.
 */
export function kubectlTimings(ctx: () => ParityContext): void {
  test("kubectl -v=6 per-request timings: through the hub vs direct", (t) => {
    const { hub, direct } = ctx();
    const done = (k: typeof hub) => k.requests.filter((r) => r.status !== undefined && r.status < 500).map((r) => r.ms);
    const h = timingSummary(done(hub));
    const d = timingSummary(done(direct));
    assert.ok(h.n >= PARITY_ARGS.length && d.n >= PARITY_ARGS.length, `requests logged: hub ${h.n}, direct ${d.n}`);
    t.diagnostic(`kubectl -v=6 ms per request, hub: n=${h.n} median=${h.median} p90=${h.p90} mean=${h.mean}`);
    t.diagnostic(`kubectl -v=6 ms per request, direct: n=${d.n} median=${d.median} p90=${d.p90} mean=${d.mean}`);
  });
}
