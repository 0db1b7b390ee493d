/**
 * The real kubectl through the hub and the real WireGuard tunnel (the world: kubectl-world.ts, every hub service a
 * process, the edge agent in its own namespace behind wireguard-go).
 *
 * The cases are the loopback suite's (services/gateway/test/kubectl-cases.ts):
 * every command of the issue compared with kubectl straight at the API server,
 * Forbidden verbatim, one audit row per call, `logs -f` and `get -w` cancelled
 * by killing kubectl (the API server's request ends). On top: tenant B's user
 * refused tenant A's cluster, the bytes crossing the WireGuard interface, and
 * an audit row for every request kubectl logged through the hub.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { request } from "undici";
import { eventually } from "@daalu/testing";
import { Kubectl, kubectlCases } from "../services/gateway/test/kubectl-cases.js";
import { runCleanups, startWorld, warnings, wgTransfer, type World } from "./kubectl-world.js";
import { e2eSkipReason } from "./netns.js";

const skip = e2eSkipReason();

describe("kubectl through the hub and a real WireGuard tunnel", { skip }, () => {
  let w: World;
  before(async () => {
    w = await startWorld();
  }, { timeout: 180_000 });
  after(runCleanups);

  test("the calls cross the WireGuard interface", async () => {
    const before = await wgTransfer(w);
    const r = await w.cases.hub.run(["get", "pods", "-A", "-o", "yaml"]);
    assert.equal(r.code, 0, r.err);
    const after = await wgTransfer(w);
    // The hub receives the answer through the tunnel: at least its payload in rx.
    assert.ok(after.rx - before.rx >= r.out.length, `rx grew by ${after.rx - before.rx} bytes for ${r.out.length} bytes of output`);
    assert.ok(after.tx > before.tx, "requests went out through the tunnel");
  });

  kubectlCases(() => w.cases);

  test("tenant B's user is refused tenant A's cluster (404), by kubectl too", async () => {
    const raw = await request(`${w.gatewayUrl}/k8s/clusters/${w.clusterId}/api/v1/pods`, { dispatcher: w.dispatcher, headers: { authorization: `Bearer ${w.otherTenantToken}` } });
    const body = (await raw.body.json()) as { kind: string; details: { causes: { reason: string }[] } };
    assert.equal(raw.statusCode, 404);
    assert.equal(body.kind, "Status");
    assert.equal(body.details.causes[0]!.reason, "CLUSTER_NOT_FOUND");
    const kc = await request(`${w.gatewayUrl}/v1/clusters/${w.clusterId}/kubeconfig`, { dispatcher: w.dispatcher, headers: { authorization: `Bearer ${w.otherTenantToken}` } });
    await kc.body.dump();
    assert.equal(kc.statusCode, 404);

    // Tenant A's kubeconfig with tenant B's token: kubectl gets the same 404.
    const mine = readFileSync(w.cases.hub.kubeconfig, "utf8");
    assert.ok(mine.includes(w.viewerToken));
    const theirs = path.join(w.dir, "other-tenant.kubeconfig");
    writeFileSync(theirs, mine.replace(w.viewerToken, w.otherTenantToken), { mode: 0o600 });
    const refused = await new Kubectl(theirs, path.join(w.dir, "other.cache")).run(["get", "pods"]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.err, /NotFound|could not find the requested resource/, refused.err);
    assert.equal(refused.out, "");
    // Refused at the gateway: nothing went through the tunnel for tenant B.
    assert.equal((await w.sql("select count(*)::int as n from audit.calls where tenant_id = 'globex'")).rows[0].n, 0);
  });

  test("every request kubectl made through the hub has its audit row", async (t) => {
    const logged = w.cases.hub.requests;
    assert.ok(logged.length > 50, `kubectl logged ${logged.length} requests`);
    const prefix = `/k8s/clusters/${w.clusterId}`;
    const want = new Map<string, number>();
    for (const q of logged) {
      assert.ok(q.path.startsWith(prefix), q.path);
      const key = `${q.method} ${q.path.slice(prefix.length)} ${q.status}`;
      want.set(key, (want.get(key) ?? 0) + 1);
    }
    const rowsOf = async () => {
      const r = await w.sql("select verb, path, status_code from audit.calls where cluster_id = $1 and time >= $2", [w.clusterId, w.readyAt]);
      const got = new Map<string, number>();
      for (const row of r.rows as { verb: string; path: string; status_code: number }[]) {
        const key = `GET ${row.path} ${row.status_code}`;
        got.set(key, (got.get(key) ?? 0) + 1);
      }
      return got;
    };
    const got = await eventually(async () => {
      const g = await rowsOf();
      for (const [k, n] of want) assert.ok((g.get(k) ?? 0) >= n, `${k}: ${n} logged by kubectl, ${g.get(k) ?? 0} audit rows`);
      return g;
    }).catch((err) => {
      // A missing row is worth the services' own account of it.
      throw new Error(`${(err as Error).message}\n--- audit warnings:\n${warnings(w.audit)}\n--- tunnel-proxy warnings:\n${warnings(w.tunnelProxy)}`);
    });
    // Beyond kubectl's own log, only GET /version: the kubectl dispatcher (some
    // packagings) asks the server's version with a client that does not log.
    let extra = 0;
    for (const [k, n] of got) {
      if ((want.get(k) ?? 0) === n) continue;
      assert.match(k, /^GET \/version 200$/, `unexpected audit rows: ${k} ×${n - (want.get(k) ?? 0)}`);
      extra += n - (want.get(k) ?? 0);
    }
    t.diagnostic(`${logged.length} requests logged by kubectl through the hub, each with its audit row; ${extra} more rows for the dispatcher's GET /version`);
  });
});
