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
  ok(["auth", "can-i", "list", "pods", "-n", "shop"]);
  ok(["auth", "can-i", "--list", "-A"]);
  ok(["auth", "whoami", "-o", "json"]);
  ok(["events", "-A", "--types=Warning"]);
  ok(["api-resources", "--namespaced=true"]);
  ok(["version", "-o", "json", "--client"]);
  ok(["get", "--raw", "/api/v1/namespaces"]);
  ok(["get", "pods", "-Ah"]);
  ok(["get", "pods", "-An", "shop", "-Lapp", "--watch=false"]);
  ok(["logs", "nginx", "--tail=-1", "-pc", "nginx"]);
  ok(["explain", "pods", "--recursive", "--output", "plaintext"]);
});

test("argv parses as kubectl parses it: booleans take no separate value", () => {
  const p = checkKubectlArgv(["get", "pods", "-An", "shop", "-ojson", "--no-headers=false", "--sort-by", "x"]);
  assert.ok(p.ok);
  if (p.ok) {
    assert.deepEqual(p.flags, [
      { name: "all-namespaces", value: "true" },
      { name: "namespace", value: "shop" },
      { name: "output", value: "json" },
      { name: "no-headers", value: "false" },
      { name: "sort-by", value: "x" },
    ]);
    assert.deepEqual(p.positionals, ["pods"]);
  }
});

test("regression: a boolean followed by a flag smuggles nothing (--namespaced --server=...)", () => {
  for (const [argv, status] of [
    [["api-resources", "--namespaced", "--server=http://127.0.0.1:1"], 403],
    [["api-resources", "--namespaced", "--kubeconfig=/etc/kubernetes/admin.conf"], 403],
    [["api-resources", "--namespaced", "--profile=cpu", "--profile-output=/etc/x"], 403],
    [["api-resources", "--namespaced", "--cache-dir=/tmp/x"], 403],
    [["api-resources", "--namespaced", "-v=8"], 403],
    [["api-resources", "--cached", "-s", "http://x"], 403],
    [["get", "pods", "-A", "--kubeconfig", "/x"], 403],
    [["get", "pods", "--show-kind", "--token=x"], 403],
    [["api-resources", "--namespaced=yes"], 400],
    [["get", "pods", "-A=1"], 400],
    // value flags may not take a flag-looking separate value
    [["get", "pods", "-n", "--server=http://x"], 400],
    [["logs", "nginx", "--tail", "-1"], 400],
    // pinned flags come after argv: a dangling value flag would swallow one
    [["get", "pods", "--sort-by"], 400],
  ] as const) no(argv, status, status === 403 ? "KUBECTL_FLAG_NOT_ALLOWED" : "INVALID_KUBECTL_ARGV");
});

test("flags are per verb", () => {
  no(["version", "--raw", "/api"], 403, "KUBECTL_FLAG_NOT_ALLOWED");
  no(["api-versions", "-o", "json"], 403, "KUBECTL_FLAG_NOT_ALLOWED");
  no(["logs", "nginx", "--all-namespaces"], 403, "KUBECTL_FLAG_NOT_ALLOWED");
  no(["describe", "pods", "--raw=/api"], 403, "KUBECTL_FLAG_NOT_ALLOWED");
  no(["rollout", "status", "deploy/x", "--revision", "2", "-o", "json"], 403, "KUBECTL_FLAG_NOT_ALLOWED");
  ok(["rollout", "history", "deploy/x", "--revision=2", "-o", "json"]);
});

test("verbs that write, exec or forward are refused", () => {
  for (const v of ["delete", "apply", "edit", "exec", "port-forward", "proxy", "cp", "scale", "patch", "create", "run", "plugin", "config", "auth", "top", "cluster-info", "debug", "attach"]) no([v, "x"], 403, "KUBECTL_VERB_NOT_ALLOWED");
  no(["rollout", "restart", "deployment/web"], 403, "KUBECTL_VERB_NOT_ALLOWED");
  no(["rollout", "undo", "deployment/web"], 403, "KUBECTL_VERB_NOT_ALLOWED");
  // auth only asks: reconcile writes RBAC objects.
  no(["auth", "reconcile", "-f", "rbac.yaml"], 403, "KUBECTL_VERB_NOT_ALLOWED");
  no(["auth", "can-i", "list", "pods", "--as", "admin"], 403, "KUBECTL_FLAG_NOT_ALLOWED");
  no(["-n", "shop", "get", "pods"], 403, "KUBECTL_VERB_NOT_ALLOWED");
});

test("flags that change target, credentials or files, stream, or trace are refused", () => {
  for (const f of ["--kubeconfig=/etc/x", "--server=https://evil", "-s", "--token=t", "--context=c", "--cluster=c", "--user=u", "--as=admin", "--as-group=system:masters", "--insecure-skip-tls-verify", "--certificate-authority=/x", "--client-key=/x", "--cache-dir=/x", "--cache_dir=/x", "--vmodule=x=9", "--log-flush-frequency=1s", "--kuberc=/x", "--warnings-as-errors", "--match-server-version", "--insecure-skip-tls-verify-backend", "--tls-server-name=x", "--username=u", "--password=p", "--as-uid=1", "-f", "--filename=/etc/passwd", "-k", "--kustomize=.", "-w", "--watch", "--watch=true", "--follow", "--profile=cpu", "--profile-output=/tmp/x", "--log-file=/tmp/x", "-v=9", "--v=9", "-Af", "--", "-"]) {
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
