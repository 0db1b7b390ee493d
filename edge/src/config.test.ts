import { test } from "node:test";
import assert from "node:assert/strict";
import { ConfigError } from "@daalu/runtime";
import { DEFAULT_GRPC_PORT, DEFAULT_PUBLIC_CONFIGMAP_NAME, DEFAULT_SECRET_NAME, DEFAULT_WG_INTERFACE, isLoopbackHost, loadConfig, type RunConfig } from "./config.js";
import { EDGE_VERSION } from "./version.js";

const inPod = { KUBERNETES_SERVICE_HOST: "10.96.0.1" };
const boot = { ...inPod, EDGE_HUB_URL: "https://hub.example.com/", EDGE_BOOTSTRAP_TOKEN: "dfi1_x" };

function problems(mode: string | undefined, env: Record<string, string>): string[] {
  try {
    loadConfig(mode, env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

test("bootstrap defaults", () => {
  const c = loadConfig("bootstrap", boot);
  assert.equal(c.mode, "bootstrap");
  if (c.mode !== "bootstrap") return;
  assert.equal(c.hubUrl, "https://hub.example.com", "trailing slash dropped");
  assert.equal(c.attempts, 8);
  assert.equal(c.kube.secretName, DEFAULT_SECRET_NAME);
  assert.equal(c.kube.publicConfigMapName, DEFAULT_PUBLIC_CONFIGMAP_NAME);
  assert.equal(c.keepaliveSeconds, undefined, "the hub's keepalive unless the chart sets one");
  assert.equal(c.kube.kubeconfig, undefined);
  const set = loadConfig("bootstrap", { ...boot, EDGE_PUBLIC_CONFIGMAP_NAME: "edge-public", EDGE_KEEPALIVE: "40" });
  assert.ok(set.mode === "bootstrap" && set.kube.publicConfigMapName === "edge-public" && set.keepaliveSeconds === 40);
  assert.match(problems("bootstrap", { ...boot, EDGE_PUBLIC_CONFIGMAP_NAME: "Bad_Name", EDGE_KEEPALIVE: "2.5s" }).join(), /EDGE_PUBLIC_CONFIGMAP_NAME must be a Kubernetes object name.*EDGE_KEEPALIVE must be whole seconds/);
});

test("plain http is refused unless loopback or explicitly allowed", () => {
  assert.match(problems("bootstrap", { ...boot, EDGE_HUB_URL: "http://hub.example.com" }).join(), /token would travel unencrypted/);
  assert.deepEqual(problems("bootstrap", { ...boot, EDGE_HUB_URL: "http://127.0.0.1:8080" }), []);
  assert.deepEqual(problems("bootstrap", { ...boot, EDGE_HUB_URL: "http://[::1]:8080" }), []);
  assert.deepEqual(problems("bootstrap", { ...boot, EDGE_HUB_URL: "http://hub.test", EDGE_ALLOW_INSECURE_HTTP: "true" }), []);
  assert.match(problems("bootstrap", { ...boot, EDGE_HUB_URL: "ftp://hub" }).join(), /must be an https:\/\/ URL/);
  assert.equal(isLoopbackHost("127.3.4.5"), true);
  assert.equal(isLoopbackHost("127.example.com"), false);
});

test("every problem is reported at once", () => {
  const p = problems("bootstrap", { ...inPod, EDGE_BOOTSTRAP_ATTEMPTS: "0", EDGE_SECRET_NAME: "Bad_Name", LOG_LEVEL: "loud" });
  assert.deepEqual(p, [
    'EDGE_SECRET_NAME must be a Kubernetes object name, got "Bad_Name"',
    'LOG_LEVEL must be one of trace, debug, info, warn, error, fatal, silent, got "loud"',
    "EDGE_HUB_URL is required",
    "EDGE_BOOTSTRAP_TOKEN is required",
    "EDGE_BOOTSTRAP_ATTEMPTS must be between 1 and 100, got 0",
  ]);
  assert.match(problems("serve", inPod).join(), /mode must be "bootstrap" or "run"/);
  assert.match(problems("run", {}).join(), /not running in a Kubernetes pod .*set EDGE_KUBECONFIG/);
  assert.deepEqual(problems("run", { EDGE_KUBECONFIG: "/tmp/kubeconfig" }), []);
});

test("run defaults and overrides", () => {
  const c = loadConfig("run", inPod);
  assert.equal(c.mode, "run");
  if (c.mode !== "run") return;
  assert.equal(c.wgInterface, DEFAULT_WG_INTERFACE);
  assert.equal(c.grpcPort, DEFAULT_GRPC_PORT);
  assert.equal(c.keepaliveSeconds, undefined, "the hub's value applies unless overridden");
  assert.deepEqual([c.probeHost, c.probePort], ["0.0.0.0", 8081]);
  assert.equal(c.readyMaxHandshakeAgeMs, 180_000);
  assert.equal(c.version, EDGE_VERSION, "the build's version unless overridden");
  assert.equal((loadConfig("run", { ...inPod, EDGE_VERSION_OVERRIDE: "0.0.9" }) as RunConfig).version, "0.0.9");
  const o = loadConfig("run", { ...inPod, EDGE_KEEPALIVE: "10", EDGE_PROBE_ADDR: "[::1]:9000", EDGE_READY_MAX_HANDSHAKE_AGE: "3s" });
  if (o.mode !== "run") return;
  assert.equal(o.keepaliveSeconds, 10);
  assert.deepEqual([o.probeHost, o.probePort], ["::1", 9000]);
  assert.equal(o.readyMaxHandshakeAgeMs, 3_000);
  const s = loadConfig("run", { ...inPod, EDGE_KEEPALIVE: "25s" });
  assert.equal(s.mode === "run" && s.keepaliveSeconds, 25);
});

test("bad run settings are refused", () => {
  assert.deepEqual(problems("run", { ...inPod, EDGE_WG_INTERFACE: "much-too-long-name0", EDGE_KEEPALIVE: "1.5s", EDGE_PROBE_ADDR: "8081", EDGE_GRPC_PORT: "70000" }), [
    'EDGE_WG_INTERFACE must be a Linux interface name (1-15 of A-Za-z0-9_.-), got "much-too-long-name0"',
    'EDGE_KEEPALIVE must be whole seconds 0..65535 (e.g. 25 or 25s), got "1.5s"',
    'EDGE_PROBE_ADDR must be host:port, got "8081"',
    "EDGE_GRPC_PORT must be between 1 and 65535, got 70000",
  ]);
});
