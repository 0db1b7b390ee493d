/**
 * `edge bootstrap` against a kube-double (real client-node HTTP) and a scripted
 * hub stand-in, run as a real process so exit codes are what a Job sees.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { BOOTSTRAP_USER, defaultPolicy, EDGE_NAMESPACE, EDGE_TUNNEL_CONFIGMAP, selfSignedTls, type KubeDouble } from "@daalu/kube-double";
import { generateKeyPair, isValidKey, publicKeyOf } from "@daalu/wireguard";
import { parse } from "yaml";
import { ExitCode } from "../src/errors.js";
import { messages, problem, runEdge, secretData, startHubStandIn, startKube } from "./helpers.js";

const TOKEN = "dfi1_test_token_value";
const hubKey = generateKeyPair().publicKey;
const config = (publicKey: string) => ({
  tenantId: "acme",
  clusterId: "c-1",
  clusterName: "prod-eu",
  tunnelIp: "10.77.0.2",
  subnet: "10.77.0.0/24",
  hubTunnelIp: "10.77.0.1",
  hubPublicKey: hubKey,
  hubEndpoint: "192.0.2.1:51820",
  keepaliveSeconds: 25,
  _echo: publicKey,
});

/** The public ConfigMap's data as the double stores it, or undefined. */
function publicConfig(kube: KubeDouble): Record<string, string> | undefined {
  return (kube.store.get("configmaps", EDGE_NAMESPACE, EDGE_TUNNEL_CONFIGMAP) as { data?: Record<string, string> } | undefined)?.data;
}

/** What a security team runs: the real kubectl against the double. */
function kubectlGetYaml(kubeconfig: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile("kubectl", ["--kubeconfig", kubeconfig, "--cache-dir", mkdtempSync(path.join(tmpdir(), "kubectl-cache-")), ...args, "-o", "yaml"], { timeout: 30_000 }, (err, out, errOut) =>
      err ? reject(new Error(`${err.message}: ${errOut}`)) : resolve(out),
    ),
  );
}

function env(kubeconfig: string, hubUrl: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    EDGE_KUBECONFIG: kubeconfig,
    EDGE_NAMESPACE: "daalu-edge",
    EDGE_HUB_URL: hubUrl,
    EDGE_BOOTSTRAP_TOKEN: TOKEN,
    EDGE_BOOTSTRAP_BACKOFF: "20ms",
    EDGE_BOOTSTRAP_BACKOFF_MAX: "100ms",
    ...extra,
  };
}

test("bootstrap stores the key pair and the tunnel config; the hub sees only the token and the public key; a re-run redeems nothing", async (t) => {
  const k = await startKube();
  const hub = await startHubStandIn((req, res) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(config(req.body.publicKey!))));
  t.after(async () => Promise.all([k.close(), hub.close()]));

  const first = await runEdge("bootstrap", env(k.bootstrapKubeconfig, hub.url));
  assert.equal(first.code, ExitCode.Ok, first.output);
  assert.equal(hub.requests.length, 1);
  assert.deepEqual(Object.keys(hub.requests[0]!.body).sort(), ["publicKey", "token"]);
  assert.equal(hub.requests[0]!.body.token, TOKEN);

  const data = secretData(k.kube)!;
  assert.equal(data["state"], "complete");
  assert.ok(isValidKey(data["private-key"]!));
  assert.equal(publicKeyOf(data["private-key"]!), hub.requests[0]!.body.publicKey, "the hub got the public half of the stored key");
  assert.ok(!hub.requests[0]!.raw.includes(data["private-key"]!), "the private key never leaves the cluster");
  const stored = JSON.parse(data["tunnel.json"]!) as Record<string, unknown>;
  assert.equal(stored["tunnelIp"], "10.77.0.2");
  assert.equal(stored["hubPublicKey"], hubKey);
  assert.ok(!first.output.includes(TOKEN), "the token is never logged");
  assert.ok(!first.output.includes(data["private-key"]!), "the private key is never logged");

  // The public half, beside the Secret: exactly these fields, none of them secret.
  const pub = publicConfig(k.kube)!;
  assert.deepEqual(pub, {
    "hub-endpoint": "192.0.2.1:51820",
    "hub-endpoints": "192.0.2.1:51820",
    "hub-public-key": hubKey,
    address: "10.77.0.2/32",
    "public-key": data["public-key"],
    "persistent-keepalive": "25",
    "allowed-ips": "10.77.0.1/32",
  });
  for (const v of Object.values(pub) as string[]) {
    assert.ok(!v.includes(data["private-key"]!) && !v.includes(TOKEN), "no private key and no token in the ConfigMap");
  }
  const shown = parse(await kubectlGetYaml(k.adminKubeconfig, ["-n", "daalu-edge", "get", "configmap", EDGE_TUNNEL_CONFIGMAP])) as { kind: string; data: Record<string, string> };
  assert.equal(shown.kind, "ConfigMap");
  assert.deepEqual(shown.data, pub, "kubectl shows the whole public tunnel");

  // A re-run (the ConfigMap lost meanwhile) redeems nothing and writes the ConfigMap again.
  k.kube.store.delete("configmaps", EDGE_NAMESPACE, EDGE_TUNNEL_CONFIGMAP);
  const again = await runEdge("bootstrap", env(k.bootstrapKubeconfig, hub.url));
  assert.equal(again.code, ExitCode.Ok, again.output);
  assert.match(again.output, /already bootstrapped, no token redeemed/);
  assert.equal(hub.requests.length, 1, "the second run did not call the hub");
  assert.equal(secretData(k.kube)!["private-key"], data["private-key"], "the key is kept");
  assert.deepEqual(publicConfig(k.kube), pub, "the ConfigMap is back");
});

test("the ConfigMap shows the chart's keepalive; without RBAC for it the Job fails after redeeming, and its retry completes without redeeming", async (t) => {
  const k = await startKube();
  const hub = await startHubStandIn((req, res) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(config(req.body.publicKey!))));
  t.after(async () => Promise.all([k.close(), hub.close()]));
  // The bootstrap Role as it was before the ConfigMap: Secrets only.
  k.kube.setRbac(BOOTSTRAP_USER, [{ apiGroups: [""], resources: ["secrets"], verbs: ["create", "get", "update"], namespaces: [EDGE_NAMESPACE] }]);
  const r = await runEdge("bootstrap", env(k.bootstrapKubeconfig, hub.url, { EDGE_KEEPALIVE: "40" }));
  assert.equal(r.code, ExitCode.KubeForbidden, r.output);
  assert.match(messages(r.output), /may not get configmap daalu-edge\/daalu-edge-tunnel-public \(HTTP 403: .*\)\. It needs a Role .* "create" on "configmaps" and "get", "update" on the configmap daalu-edge-tunnel-public/);
  assert.equal(secretData(k.kube)!["state"], "complete", "the tunnel itself is bootstrapped");
  assert.equal(publicConfig(k.kube), undefined);

  k.kube.setRbac(BOOTSTRAP_USER, defaultPolicy()[BOOTSTRAP_USER]!);
  const retry = await runEdge("bootstrap", env(k.bootstrapKubeconfig, hub.url, { EDGE_KEEPALIVE: "40" }));
  assert.equal(retry.code, ExitCode.Ok, retry.output);
  assert.equal(hub.requests.length, 1, "the retry did not redeem again");
  assert.equal(publicConfig(k.kube)!["persistent-keepalive"], "40");
  // Another tunnel config (the same cluster, re-addressed): an existing ConfigMap is updated, not left stale.
  k.kube.store.update("configmaps", EDGE_NAMESPACE, EDGE_TUNNEL_CONFIGMAP, (o) => (o["data"]["address"] = "10.77.0.99/32"));
  assert.equal((await runEdge("bootstrap", env(k.bootstrapKubeconfig, hub.url, { EDGE_KEEPALIVE: "40" }))).code, ExitCode.Ok);
  assert.equal(publicConfig(k.kube)!["address"], "10.77.0.2/32");
});

test("a lost answer is retried with the same key, so the hub can replay", async (t) => {
  const k = await startKube();
  const hub = await startHubStandIn((req, res, n) => {
    // First call: the hub burns the token, then the answer is lost (connection cut).
    if (n === 1) res.socket?.destroy();
    else res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(config(req.body.publicKey!)));
  });
  t.after(async () => Promise.all([k.close(), hub.close()]));
  const r = await runEdge("bootstrap", env(k.bootstrapKubeconfig, hub.url));
  assert.equal(r.code, ExitCode.Ok, r.output);
  assert.equal(hub.requests.length, 2);
  assert.equal(hub.requests[0]!.body.publicKey, hub.requests[1]!.body.publicKey);
  assert.match(r.output, /hub not reachable yet; retrying/);
});

test("a restarted Job resumes a pending Secret with its stored key", async (t) => {
  const k = await startKube();
  const hub = await startHubStandIn((req, res) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(config(req.body.publicKey!))));
  t.after(async () => Promise.all([k.close(), hub.close()]));
  const keys = generateKeyPair();
  const b64 = (s: string) => Buffer.from(s).toString("base64");
  k.kube.store.put({
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "daalu-edge-tunnel", namespace: "daalu-edge" },
    type: "Opaque",
    data: { state: b64("pending"), "private-key": b64(keys.privateKey), "public-key": b64(keys.publicKey) },
  });
  const r = await runEdge("bootstrap", env(k.bootstrapKubeconfig, hub.url));
  assert.equal(r.code, ExitCode.Ok, r.output);
  assert.equal(hub.requests[0]!.body.publicKey, keys.publicKey);
  assert.equal(secretData(k.kube)!["state"], "complete");
  assert.equal(secretData(k.kube)!["private-key"], keys.privateKey);
});

test("refused tokens stop at once with the hub's message and a distinct exit code", async (t) => {
  const k = await startKube();
  const cases: Record<string, [number, number]> = {
    TOKEN_EXPIRED: [410, ExitCode.TokenExpired],
    TOKEN_ALREADY_USED: [409, ExitCode.TokenAlreadyUsed],
    TOKEN_UNKNOWN: [404, ExitCode.TokenUnknown],
    SUBNET_EXHAUSTED: [409, ExitCode.SubnetExhausted],
  };
  let reason = "";
  const hub = await startHubStandIn((_req, res) => problem(res, cases[reason]![0], reason, `hub says ${reason.toLowerCase()} for this token`));
  t.after(async () => Promise.all([k.close(), hub.close()]));
  const codes = new Set<number>();
  for (const r of Object.keys(cases)) {
    reason = r;
    const before = hub.requests.length;
    const out = await runEdge("bootstrap", env(k.bootstrapKubeconfig, hub.url));
    assert.equal(out.code, cases[r]![1], out.output);
    assert.ok(out.output.includes(`hub says ${r.toLowerCase()} for this token`), out.output);
    assert.equal(hub.requests.length - before, 1, `${r} is not retried`);
    codes.add(out.code!);
  }
  assert.equal(codes.size, 4);
  assert.equal(secretData(k.kube)!["state"], "pending", "no tunnel config without a redeemed token");
});

test("an unreachable hub is retried a bounded number of times, then the Job fails", async (t) => {
  const k = await startKube();
  const hub = await startHubStandIn((_req, res) => res.writeHead(503).end("upstream down"));
  t.after(async () => Promise.all([k.close(), hub.close()]));
  const r = await runEdge("bootstrap", env(k.bootstrapKubeconfig, hub.url, { EDGE_BOOTSTRAP_ATTEMPTS: "4" }));
  assert.equal(r.code, ExitCode.HubUnreachable, r.output);
  assert.equal(hub.requests.length, 4);
  assert.match(r.output, /stayed unreachable after 4 attempts; last error: hub answered 503/);

  const closed = await runEdge("bootstrap", env(k.bootstrapKubeconfig, "http://127.0.0.1:1", { EDGE_BOOTSTRAP_ATTEMPTS: "3" }));
  assert.equal(closed.code, ExitCode.HubUnreachable, closed.output);
  assert.match(closed.output, /ECONNREFUSED/);
});

test("without RBAC on the Secret the Job fails naming the Role it needs, before the token is sent", async (t) => {
  const k = await startKube();
  const hub = await startHubStandIn((req, res) => res.writeHead(200).end(JSON.stringify(config(req.body.publicKey!))));
  t.after(async () => Promise.all([k.close(), hub.close()]));
  k.kube.setRbac(BOOTSTRAP_USER, []);
  const r = await runEdge("bootstrap", env(k.bootstrapKubeconfig, hub.url));
  assert.equal(r.code, ExitCode.KubeForbidden, r.output);
  assert.match(messages(r.output), /may not get secret daalu-edge\/daalu-edge-tunnel \(HTTP 403: secrets "daalu-edge-tunnel" is forbidden/);
  assert.match(messages(r.output), /verbs \[create, get, update\] on resource "secrets"/);
  assert.equal(hub.requests.length, 0, "the token was not burned");

  // get allowed, create refused: still before the token is sent.
  k.kube.setRbac(BOOTSTRAP_USER, [{ apiGroups: [""], resources: ["secrets"], verbs: ["get"] }]);
  const r2 = await runEdge("bootstrap", env(k.bootstrapKubeconfig, hub.url));
  assert.equal(r2.code, ExitCode.KubeForbidden, r2.output);
  assert.match(r2.output, /may not create secret/);
  assert.equal(hub.requests.length, 0);
});

test("TLS is verified: an unknown CA fails without retries; EDGE_HUB_CA_FILE trusts it; plain http to a remote hub is refused", async (t) => {
  const k = await startKube();
  const tls = selfSignedTls();
  const hub = await startHubStandIn((req, res) => res.writeHead(200).end(JSON.stringify(config(req.body.publicKey!))), tls);
  const dir = mkdtempSync(path.join(tmpdir(), "edge-ca-"));
  t.after(async () => {
    rmSync(dir, { recursive: true, force: true });
    await Promise.all([k.close(), hub.close()]);
  });
  const untrusted = await runEdge("bootstrap", env(k.bootstrapKubeconfig, hub.url));
  assert.equal(untrusted.code, ExitCode.HubUntrusted, untrusted.output);
  assert.match(untrusted.output, /not trusted.*hub.caBundle/);
  assert.equal(hub.requests.length, 0);

  const caFile = path.join(dir, "ca.pem");
  writeFileSync(caFile, tls.ca);
  const trusted = await runEdge("bootstrap", env(k.bootstrapKubeconfig, hub.url, { EDGE_HUB_CA_FILE: caFile }));
  assert.equal(trusted.code, ExitCode.Ok, trusted.output);
  assert.equal(hub.requests.length, 1);

  const insecure = await runEdge("bootstrap", env(k.bootstrapKubeconfig, "http://hub.example.com"));
  assert.equal(insecure.code, ExitCode.Config);
  assert.match(insecure.output, /token would travel unencrypted/);
});
