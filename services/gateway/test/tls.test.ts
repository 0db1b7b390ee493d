/**
 * The gateway serves HTTPS itself when GATEWAY_TLS_CERT_FILE/KEY_FILE are set:
 * kubectl sends bearer tokens only over TLS, so the per-cluster Kubernetes
 * endpoint is usable without an ingress in front. The kubeconfig it hands out
 * embeds the CA, and kubectl verifies the gateway with it.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { Agent, request } from "undici";
import { selfSignedTls } from "@daalu/kube-double";
import { setup } from "@daalu/testing";
import { seedTenant, startStack } from "./helpers.js";

const run = promisify(execFile);

test("GATEWAY_TLS_* serves HTTPS; the kubeconfig's CA lets kubectl verify the gateway", async (t) => {
  const env = await setup();
  t.after(() => env.cleanup());
  const dir = await mkdtemp(path.join(tmpdir(), "gw-tls-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const tls = selfSignedTls();
  await writeFile(path.join(dir, "tls.crt"), tls.cert);
  await writeFile(path.join(dir, "tls.key"), tls.key, { mode: 0o600 });
  await writeFile(path.join(dir, "ca.crt"), tls.ca);

  const stack = await startStack(env, {
    gateway: {
      GATEWAY_TLS_CERT_FILE: path.join(dir, "tls.crt"),
      GATEWAY_TLS_KEY_FILE: path.join(dir, "tls.key"),
      GATEWAY_TLS_CA_FILE: path.join(dir, "ca.crt"),
    },
  });
  t.after(() => stack.stop());
  const gw = stack.gw;
  assert.match(gw.url, /^https:\/\//);

  const dispatcher = new Agent({ connect: { ca: tls.ca } });
  t.after(() => dispatcher.close());
  const health = await request(`${gw.url}/healthz`, { dispatcher });
  assert.equal(health.statusCode, 200);
  await health.body.dump();

  // Plain HTTP on the same port is not spoken.
  await assert.rejects(request(`${gw.url.replace("https:", "http:")}/healthz`).then((r) => r.body.dump()));

  // The kubeconfig of an unknown cluster is refused (peering says NOT_FOUND).
  const tokens = await seedTenant(env, "acme");
  const kc = await request(`${gw.url}/v1/clusters/00000000-0000-4000-8000-000000000000/kubeconfig`, { dispatcher, headers: { authorization: `Bearer ${tokens.admin}` } });
  assert.equal(kc.statusCode, 404);
  await kc.body.dump();

  // kubectl trusts the gateway through the CA and sends the bearer token: the
  // answer is the gateway's own Status (no such cluster), not a TLS error.
  const kubeconfig = path.join(dir, "kubeconfig");
  await writeFile(
    kubeconfig,
    [
      "apiVersion: v1",
      "kind: Config",
      "clusters:",
      "- name: hub",
      "  cluster:",
      `    server: ${gw.url}/k8s/clusters/00000000-0000-4000-8000-000000000000`,
      `    certificate-authority-data: ${Buffer.from(tls.ca).toString("base64")}`,
      "users:",
      "- name: op",
      "  user:",
      `    token: ${tokens.admin}`,
      "contexts:",
      "- name: hub",
      "  context: { cluster: hub, user: op }",
      "current-context: hub",
      "",
    ].join("\n"),
    { mode: 0o600 },
  );
  const res = await run("kubectl", ["--kubeconfig", kubeconfig, "get", "pods"], { timeout: 30_000 }).then(
    () => ({ code: 0, stderr: "" }),
    (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
  );
  assert.notEqual(res.code, 0);
  assert.doesNotMatch(res.stderr, /certificate|x509|tls/i, res.stderr);
  assert.match(res.stderr, /NotFound|not found/i, res.stderr);
});
