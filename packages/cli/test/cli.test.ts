import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { stripVTControlCharacters } from "node:util";
import pg from "pg";
import { parse as parseYaml } from "yaml";
import type { Stack } from "@daalu/stack";
import { eventually, setup, type TestEnv } from "@daalu/testing";
import { startTunnelStack, type TunnelStack } from "../../../services/tunnel-proxy/test/harness.js";
import { startHub } from "./hub.js";
import { buildBin, daalu, daaluOnTty, type CliOptions } from "./run-cli.js";

// The real `daalu` bin against a real hub: peering, audit and tunnel-proxy
// (with the edge's Proxy on loopback gRPC in front of the kube-double, no
// WireGuard) plus invite and the gateway, all through startStack, on real
// PostgreSQL and NATS. Cluster "prod" of tenant acme reaches the kube-double.

let env: TestEnv;
let tunnel: TunnelStack;
let hub: Stack;
let dir: string;
let config: string;
let admin: string;
let viewer: string;

/** daalu with this test's config file and no colour. */
const cli = (args: string[], o: CliOptions = {}) => daalu(args, { ...o, env: { DAALU_CONFIG: config, NO_COLOR: "1", ...o.env } });
/** daalu logged in by environment (no config file involved). */
const as = (token: string, args: string[], o: CliOptions = {}) => cli(args, { ...o, env: { DAALU_HUB: hub.gatewayUrl, DAALU_TOKEN: token, ...o.env } });
const json = (s: string) => JSON.parse(s) as Record<string, unknown> & { [k: string]: any }; // eslint-disable-line @typescript-eslint/no-explicit-any -- parsed CLI output, read field by field

before(async () => {
  buildBin();
  env = await setup();
  dir = mkdtempSync(path.join(tmpdir(), "daalu-cli-"));
  config = path.join(dir, "config", "daalu.json");
  tunnel = await startTunnelStack(env, [{ tenant: "acme", name: "prod" }]);
  hub = await startHub(env, ["invite", "drift", "gateway"], { invite: { INVITE_PEERING_TIMEOUT: "20s" }, drift: { DRIFT_SCHEDULE_TICK: "0s" } });
  admin = hub.adminToken!;
  viewer = hub.viewerToken!;
});

after(async () => {
  await hub?.stop();
  await tunnel?.stop();
  await env?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("login with a token: a wrong one is refused (4), the right one is verified and saved 0600", async () => {
  const bad = await cli(["login", "--hub", hub.gatewayUrl, "--token", "dak1_nottherightone"]);
  assert.equal(bad.code, 4, bad.stderr);
  assert.match(bad.stderr, /daalu login/);
  assert.throws(() => statSync(config), /ENOENT/, "nothing saved after a refused login");

  const ok = await cli(["login", "--hub", `${hub.gatewayUrl}/`, "--token", "-", "--tenant", "acme"], { input: `${admin}\n` });
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(statSync(config).mode & 0o777, 0o600);
  assert.equal(statSync(path.dirname(config)).mode & 0o777, 0o700);
  assert.deepEqual(JSON.parse(readFileSync(config, "utf8")), { hub: hub.gatewayUrl, token: admin, tenant: "acme" });

  const me = await cli(["whoami", "-o", "json"]);
  assert.equal(me.code, 0, me.stderr);
  // A pasted token: the hub says its tenant and role.
  assert.deepEqual(json(me.stdout), { hub: hub.gatewayUrl, tenant: "acme", username: null, role: "admin", tokenFrom: "file" });
  const human = await cli(["whoami", "--no-color"]);
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, /^Role: +admin$/m);
});

test("clusters ls / add / show / rm with --output json and yaml, and the human table", async () => {
  const ls = await cli(["clusters", "ls", "-o", "json"]);
  assert.equal(ls.code, 0, ls.stderr);
  assert.deepEqual(json(ls.stdout).clusters.map((c: { name: string }) => c.name), ["prod"]);

  const add = await cli(["clusters", "add", "web-1", "-o", "json"]);
  assert.equal(add.code, 0, add.stderr);
  const created = json(add.stdout);
  assert.equal(created.cluster.name, "web-1");
  assert.match(created.token, /^dfi1_/);
  assert.match(created.helmCommand, /^helm install daalu-edge .* --set bootstrap\.token=dfi1_/);
  assert.equal(add.stderr, "", "no --wait: the JSON alone, nothing on stderr");

  const table = await cli(["clusters", "ls"]);
  assert.equal(table.code, 0, table.stderr);
  const lines = table.stdout.trimEnd().split("\n");
  assert.match(lines[0]!, /^NAME\s+STATUS\s+TUNNEL IP\s+LAST HANDSHAKE\s+EDGE VERSION\s+API$/);
  assert.match(table.stdout, /^web-1\s+● pending enrollment\s+-\s+never\s+-\s+-$/m);
  assert.ok(!table.stdout.includes("\u001b["), "NO_COLOR: no escape codes");

  const show = await cli(["clusters", "show", "web-1", "-o", "yaml"]);
  assert.equal(show.code, 0, show.stderr);
  assert.deepEqual(parseYaml(show.stdout), { cluster: json(add.stdout).cluster });
  const byId = await cli(["clusters", "show", created.cluster.id]);
  assert.equal(byId.code, 0, byId.stderr);
  assert.match(byId.stdout, /^Name:\s+web-1$/m);
  assert.match(byId.stdout, /^Edge version:\s+-$/m, "no edge yet");
  // An edge older than the oldest supported release (what the hub node stores from its status probe).
  const db = new pg.Client({ connectionString: env.databaseUrl });
  await db.connect();
  try {
    await db.query("update peering.clusters set edge_version = '0.0.1' where id = $1", [created.cluster.id]);
  } finally {
    await db.end();
  }
  const old = await cli(["clusters", "show", "web-1"]);
  assert.equal(old.code, 0, old.stderr);
  assert.match(old.stdout, /^Edge version:\s+0\.0\.1 \(unsupported, upgrade to \d+\.\d+\.\d+\)$/m);
  assert.match(old.stdout, /^Upgrade with:\s+helm upgrade daalu-edge daalu-edge --repo \S+\/charts --version \d+\.\d+\.\d+ -n daalu-edge --reuse-values$/m);

  const again = await cli(["clusters", "invite", "web-1", "-o", "json"]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(json(again.stdout).token, /^dfi1_/);
  assert.notEqual(json(again.stdout).token, created.token);

  // Not on a terminal: no question can be asked, so no deletion without --yes.
  const refused = await cli(["clusters", "rm", "web-1"]);
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(refused.stderr, /--yes/);
  const rm = await cli(["clusters", "rm", "web-1", "--yes", "-o", "json"]);
  assert.equal(rm.code, 0, rm.stderr);
  assert.equal(json(rm.stdout).cluster.id, created.cluster.id);
  const gone = await cli(["clusters", "show", "web-1"]);
  assert.equal(gone.code, 3, gone.stderr);
  assert.match(gone.stderr, /^error: no cluster named or with id "web-1" \(CLUSTER_NOT_FOUND\) — list your clusters with `daalu clusters ls`\n$/);
});

test("exit codes: bad usage 2, unauthenticated 4, forbidden 4, hub unreachable 6, --wait timeout 5", async () => {
  const usage = await cli(["clusters", "add"]);
  assert.equal(usage.code, 2, usage.stderr);
  assert.match(usage.stderr, /missing required argument 'name'/);
  const format = await cli(["clusters", "ls", "-o", "xml"]);
  assert.equal(format.code, 2, format.stderr);
  const unknown = await cli(["clusterz"]);
  assert.equal(unknown.code, 2, unknown.stderr);
  const invalidName = await cli(["clusters", "add", "Not_A_DNS_Label!"]);
  assert.equal(invalidName.code, 2, invalidName.stderr);

  const unauth = await as("dak1_AAAAAAAAAAAAAAAAAAAAAA_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", ["clusters", "ls"]);
  assert.equal(unauth.code, 4, unauth.stderr);
  assert.match(unauth.stderr, /run `daalu login`/);
  assert.equal(unauth.stderr.trimEnd().split("\n").length, 1, "one line");

  const noLogin = await daalu(["clusters", "ls"], { env: { DAALU_CONFIG: path.join(dir, "none.json") } });
  assert.equal(noLogin.code, 4, noLogin.stderr);
  assert.match(noLogin.stderr, /daalu login/);

  const forbidden = await as(viewer, ["clusters", "add", "nope"]);
  assert.equal(forbidden.code, 4, forbidden.stderr);
  assert.match(forbidden.stderr, /\(ADMIN_REQUIRED\) — this needs an admin token/);

  const closed = await new Promise<number>((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
  const down = await cli(["clusters", "ls"], { env: { DAALU_HUB: `http://127.0.0.1:${closed}`, DAALU_TOKEN: admin } });
  assert.equal(down.code, 6, down.stderr);
  assert.match(down.stderr, /cannot reach the hub at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);

  // No edge will ever redeem this invite: --wait gives up at its timeout.
  const t0 = Date.now();
  const wait = await cli(["clusters", "add", "never-1", "--wait", "--timeout", "2s", "--poll-interval", "200ms"]);
  assert.equal(wait.code, 5, wait.stderr);
  assert.ok(Date.now() - t0 >= 2_000);
  assert.match(wait.stdout, /^ {2}helm install daalu-edge /m, "the helm command is printed before waiting");
  assert.match(wait.stderr, /never-1 did not connect within 2 s \(status pending_enrollment\)/);
});

test("kubectl passthrough: the local kubectl through the hub and the tunnel, exit codes passed through", async () => {
  const pods = await cli(["kubectl", "prod", "--", "get", "pods", "-A"]);
  assert.equal(pods.code, 0, pods.stderr);
  assert.match(pods.stdout, /^NAMESPACE\s+NAME\s+READY\s+STATUS/m);
  assert.match(pods.stdout, /^default\s+nginx\s/m);
  assert.match(pods.stdout, /^shop\s+web-cgjdfcgjxd-dmfde\s/m);

  const missing = await cli(["kubectl", "prod", "--", "get", "pod", "no-such-pod", "-n", "default"]);
  assert.equal(missing.code, 1, missing.stderr);
  assert.match(missing.stderr, /NotFound|not found/);

  // The hub is read-only for the cluster: the edge refuses the write with a Status that says why, and kubectl exits 1.
  const del = await cli(["kubectl", "prod", "--", "delete", "pod", "nginx", "-n", "default"]);
  assert.equal(del.code, 1, del.stderr);
  assert.match(del.stderr, /MethodNotAllowed\).*read-only for this cluster and refused DELETE/);

  // The same command on the hub's panel (as if no kubectl were installed here).
  const remote = await cli(["kubectl", "prod", "--remote", "--", "get", "pods", "-A"]);
  assert.equal(remote.code, 0, remote.stderr);
  // Ages tick between the runs: compare namespace and name of every row.
  const rows = (out: string) => out.trimEnd().split("\n").map((l) => l.split(/\s+/).slice(0, 2).join("/"));
  assert.deepEqual(rows(remote.stdout), rows(pods.stdout));
  assert.equal(rows(pods.stdout).length, 20, pods.stdout);
  const noKubectl = await cli(["kubectl", "prod", "--", "get", "pods", "-n", "shop"], { env: { DAALU_KUBECTL: path.join(dir, "no-kubectl-here") } });
  assert.equal(noKubectl.code, 0, noKubectl.stderr);
  assert.match(noKubectl.stderr, /no local kubectl; running the command on the hub's kubectl panel/);
  assert.match(noKubectl.stdout, /^web-cgjdfcgjxd-dmfde\s/m);
  const refused = await cli(["kubectl", "prod", "--remote", "--", "delete", "pod", "nginx"]);
  assert.equal(refused.code, 4, refused.stderr);
  assert.match(refused.stderr, /KUBECTL_VERB_NOT_ALLOWED/);
  const viewerPanel = await as(viewer, ["kubectl", "prod", "--remote", "--", "get", "pods"]);
  assert.equal(viewerPanel.code, 4, viewerPanel.stderr);
  assert.match(viewerPanel.stderr, /OPERATOR_REQUIRED/);

  const none = await cli(["kubectl", "nope", "--", "get", "pods"]);
  assert.equal(none.code, 3, none.stderr);
});

test("kubeconfig, audit and usage", async () => {
  const file = path.join(dir, "prod.kubeconfig");
  const kc = await cli(["kubeconfig", "prod", "-o", file]);
  assert.equal(kc.code, 0, kc.stderr);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  const doc = parseYaml(readFileSync(file, "utf8"));
  assert.match(doc.clusters[0].cluster.server, new RegExp(`^${hub.publicUrl}/k8s/clusters/[0-9a-f-]+$`));
  assert.equal(doc.users[0].user.token, admin);
  const placeholder = await cli(["kubeconfig", "prod", "--no-token"]);
  assert.equal(placeholder.code, 0, placeholder.stderr);
  assert.doesNotMatch(placeholder.stdout, new RegExp(admin));

  await cli(["kubectl", "prod", "--", "get", "namespaces"]);
  // Audit rows arrive through JetStream: poll until the kubectl calls are there.
  const calls = await eventually(async () => {
    const r = await cli(["audit", "prod", "--verb", "list", "--since", "1h", "-o", "json"]);
    assert.equal(r.code, 0, r.stderr);
    const c = json(r.stdout).calls as Array<{ operation: { resource: string }; caller: { id: string } }>;
    assert.ok(c.some((x) => x.operation.resource === "namespaces"), r.stdout);
    return c;
  }, { timeoutMs: 20_000, intervalMs: 300 });
  assert.ok(calls.every((x) => x.caller.id === "admin"));
  const limited = await cli(["audit", "--limit", "2", "-o", "json"]);
  assert.equal(json(limited.stdout).calls.length, 2);
  const human = await cli(["audit", "prod", "--limit", "3"]);
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, /^TIME\s+CLUSTER\s+CALLER\s+VERB\s+WHAT\s+STATUS\s+MS$/m);
  assert.match(human.stdout, /\sprod\s+user:admin\s/);
  const badLimit = await cli(["audit", "--limit", "0"]);
  assert.equal(badLimit.code, 2, badLimit.stderr);

  // Three sessions in this hour's metering, as the audit writer counts them (nothing else in this file opens one).
  const db = new pg.Client({ connectionString: env.databaseUrl });
  await db.connect();
  try {
    await db.query(
      `insert into audit.usage_hourly (tenant_id, cluster_id, hour, calls, errors, bytes_in, bytes_out, sessions)
       select tenant_id, id::text, date_trunc('hour', now()), 3, 0, 0, 0, 3 from peering.clusters where name = 'prod'
       on conflict (tenant_id, cluster_id, hour) do update set calls = usage_hourly.calls + 3, sessions = usage_hourly.sessions + 3`,
    );
  } finally {
    await db.end();
  }
  const use = await cli(["usage", "prod", "--granularity", "hour", "--since", "2h", "-o", "json"]);
  assert.equal(use.code, 0, use.stderr);
  assert.ok(json(use.stdout).total.calls >= calls.length, use.stdout);
  assert.equal(json(use.stdout).total.sessions, 3, use.stdout);
  const useTable = await cli(["usage"]);
  assert.equal(useTable.code, 0, useTable.stderr);
  assert.match(useTable.stdout, /^PERIOD\s+CALLS\s+ERRORS\s+SESSIONS\s+BYTES IN\s+BYTES OUT$/m);
  const total = /^total\s+(\d+)\s+(\d+)\s+(\d+)\s+\S/m.exec(useTable.stdout);
  assert.ok(total, useTable.stdout);
  assert.equal(total[3], "3", useTable.stdout);
});

test("on a terminal: the token prompt does not echo, colour unless --no-color, rm asks for the cluster's name", async () => {
  const env = { DAALU_CONFIG: config };
  const asked = await daaluOnTty(["login", "--hub", hub.gatewayUrl, "--token", "--tenant", "acme"], { env, input: `${admin}\n`, inputAfter: /API token: / });
  assert.equal(asked.code, 0, asked.stdout);
  assert.match(stripVTControlCharacters(asked.stdout), /API token: \*{20,}\s/, "stars for what was typed");
  assert.ok(!asked.stdout.includes(admin), "the token is not echoed");
  assert.equal(JSON.parse(readFileSync(config, "utf8")).token, admin);
  const add = await cli(["clusters", "add", "tty-1", "-o", "json"]);
  assert.equal(add.code, 0, add.stderr);
  const coloured = await daaluOnTty(["clusters", "ls"], { env });
  assert.equal(coloured.code, 0, coloured.stdout);
  assert.ok(coloured.stdout.includes("\u001b[33m●\u001b[39m pending enrollment"), `an amber dot:\n${coloured.stdout}`);
  const plain = await daaluOnTty(["clusters", "ls", "--no-color"], { env });
  assert.equal(plain.code, 0, plain.stdout);
  assert.match(plain.stdout, /^tty-1\s+● pending enrollment/m);
  assert.ok(!plain.stdout.includes("\u001b["), plain.stdout);

  const wrong = await daaluOnTty(["clusters", "rm", "tty-1"], { env, input: "tty-2\n" });
  assert.equal(wrong.code, 1, wrong.stdout);
  assert.match(wrong.stdout, /Delete cluster tty-1 .*Type its name to confirm:/s);
  assert.match(wrong.stdout, /not deleted: the name did not match/);
  assert.equal((await cli(["clusters", "show", "tty-1"])).code, 0, "still there");
  const right = await daaluOnTty(["clusters", "rm", "tty-1", "--no-color"], { env, input: "tty-1\n" });
  assert.equal(right.code, 0, right.stdout);
  assert.match(right.stdout, /Cluster tty-1 deleted/);
  assert.equal((await cli(["clusters", "show", "tty-1"])).code, 3);
});

test("drift put / get / enable / check / report / disable", async () => {
  tunnel.kube.store.put({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "cli-web", namespace: "cli" }, spec: { replicas: 2 } });
  const manifest = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: cli-web\n  namespace: cli\nspec:\n  replicas: 1\n";
  const put = await cli(["drift", "put", "prod", "-"], { input: manifest });
  assert.equal(put.code, 0, put.stderr);
  assert.match(put.stdout, /^Stored as version 1 \(1 objects\)\.$/m);
  const got = await cli(["drift", "get", "prod", "-o", "json"]);
  assert.deepEqual(json(got.stdout).objects.map((o: { kind: string; name: string }) => `${o.kind}/${o.name}`), ["Deployment/cli-web"]);
  const off = await cli(["drift", "check", "prod"]);
  assert.equal(off.code, 1, off.stderr);
  assert.match(off.stderr, /RECONCILIATION_OFF/);
  const on = await cli(["drift", "enable", "prod", "--interval", "120"]);
  assert.equal(on.code, 0, on.stderr);
  assert.match(on.stdout, /is on \(every 120 s, 0 ignore rule\(s\)\)/);
  const check = await cli(["drift", "check", "prod"]);
  assert.equal(check.code, 0, check.stderr);
  assert.match(check.stdout, /^Summary: +0 in sync, 1 modified, 0 missing, 0 unknown$/m);
  assert.match(check.stdout, /cli-web +modified +\[\{"op":"replace","path":"\/spec\/replicas","value":1\}\]/);
  const report = await cli(["drift", "report", "prod", "-o", "json"]);
  assert.deepEqual(json(report.stdout).summary, { inSync: 0, modified: 1, missing: 0, unknown: 0 });
  assert.equal((await as(viewer, ["drift", "check", "prod"])).code, 4, "a viewer may not start a check");
  const disabled = await cli(["drift", "disable", "prod", "-o", "json"]);
  assert.deepEqual([json(disabled.stdout).enabled, json(disabled.stdout).intervalSeconds], [false, 120]);
});

test("logout forgets the token but keeps the hub", async () => {
  const out = await cli(["logout"]);
  assert.equal(out.code, 0, out.stderr);
  assert.deepEqual(JSON.parse(readFileSync(config, "utf8")), { hub: hub.gatewayUrl });
  const ls = await cli(["clusters", "ls"]);
  assert.equal(ls.code, 4, ls.stderr);
});
