import { test } from "node:test";
import assert from "node:assert/strict";
import { checkKubectlArgv, MAX_ARGS } from "./kubectl-argv.js";

const ok = (argv: unknown) => assert.deepEqual(checkKubectlArgv(argv).ok, true, JSON.stringify(argv) + " " + JSON.stringify(checkKubectlArgv(argv)));
const no = (argv: unknown, status: number, reason: string) => {
  const v = checkKubectlArgv(argv);
  assert.equal(v.ok, false, JSON.stringify(argv));
  if (!v.ok) {
    assert.equal(v.status, status, JSON.stringify(argv));
    assert.equal(v.reason, reason, JSON.stringify(argv));
  }
};

test("read-only commands pass", () => {
  ok(["get", "pods", "-n", "shop"]);
  ok(["get", "pods", "-A", "-o", "wide"]);
  ok(["get", "pods", "-nshop", "-ojson"]);
  ok(["get", "pods", "-n=shop", "--output=jsonpath={.items[*].metadata.name}"]);
  ok(["get", "deploy", "-o", "custom-columns=NAME:.metadata.name"]);
  ok(["describe", "pod", "nginx"]);
  ok(["logs", "nginx", "--tail", "3", "-c", "nginx", "-p"]);
  ok(["logs", "deployment/web", "--all-containers", "--since=1h"]);
  ok(["rollout", "status", "deployment/web", "-n", "shop", "--watch=false"]);
  ok(["rollout", "history", "deployment/web"]);
  ok(["events", "-A", "--types=Warning"]);
  ok(["api-resources", "--namespaced=true"]);
  ok(["version", "-o", "json"]);
  ok(["get", "--raw", "/api/v1/namespaces"]);
  ok(["get", "pods", "-Ah"]);
});

test("verbs that write, exec or forward are refused", () => {
  for (const v of ["delete", "apply", "edit", "exec", "port-forward", "proxy", "cp", "scale", "patch", "create", "run", "plugin", "config", "auth", "top", "cluster-info", "debug", "attach"]) no([v, "x"], 403, "KUBECTL_VERB_NOT_ALLOWED");
  no(["rollout", "restart", "deployment/web"], 403, "KUBECTL_VERB_NOT_ALLOWED");
  no(["rollout", "undo", "deployment/web"], 403, "KUBECTL_VERB_NOT_ALLOWED");
  no(["-n", "shop", "get", "pods"], 403, "KUBECTL_VERB_NOT_ALLOWED");
});

test("flags that change target, credentials or files, stream, or trace are refused", () => {
  for (const f of ["--kubeconfig=/etc/x", "--server=https://evil", "-s", "--token=t", "--context=c", "--cluster=c", "--user=u", "--as=admin", "--as-group=system:masters", "--insecure-skip-tls-verify", "--certificate-authority=/x", "--client-key=/x", "--cache-dir=/x", "-f", "--filename=/etc/passwd", "-k", "--kustomize=.", "-w", "--watch", "--watch=true", "--follow", "--profile=cpu", "--profile-output=/tmp/x", "--log-file=/tmp/x", "-v=9", "--v=9", "-Af", "--", "-"]) {
    no(["get", "pods", f, ...(f === "-s" || f === "-f" ? ["x"] : [])], 403, "KUBECTL_FLAG_NOT_ALLOWED");
  }
  no(["logs", "nginx", "-f"], 403, "KUBECTL_FLAG_NOT_ALLOWED");
  no(["get", "--raw", "https://evil.example/x"], 403, "KUBECTL_FLAG_NOT_ALLOWED");
  no(["get", "--raw=//evil.example/x"], 403, "KUBECTL_FLAG_NOT_ALLOWED");
  for (const o of ["go-template-file=/etc/passwd", "jsonpath-file=/x", "custom-columns-file=/x", "templatefile=/x", "kyaml"]) no(["get", "pods", "-o", o], 403, "KUBECTL_FLAG_NOT_ALLOWED");
  no(["get", "pods", `-o=go-template-file=/etc/passwd`], 403, "KUBECTL_FLAG_NOT_ALLOWED");
  no(["get", "pods", `-ogo-template-file=/etc/passwd`], 403, "KUBECTL_FLAG_NOT_ALLOWED");
});

test("malformed argv is a 400", () => {
  for (const a of [undefined, "get pods", [], [1], ["get", "pods\u0000"], ["get", "pods\n--server=x"], Array(MAX_ARGS + 1).fill("pods"), ["get", "x".repeat(2000)], ["get", "pods", "-n"], ["get", "--namespace"]]) {
    no(a, 400, "INVALID_KUBECTL_ARGV");
  }
});
