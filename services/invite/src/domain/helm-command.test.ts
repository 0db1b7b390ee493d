import { test } from "node:test";
import assert from "node:assert/strict";
import { helmCommand, isShellSafe } from "./helm-command.js";

test("helm command has exactly the documented form", () => {
  assert.equal(
    helmCommand({ chartRef: "daalu/daalu-edge", hubUrl: "http://127.0.0.1:8080", token: "dfi1_abc_def" }),
    "helm install daalu-edge daalu/daalu-edge --namespace daalu-edge --create-namespace --set hub.url=http://127.0.0.1:8080 --set bootstrap.token=dfi1_abc_def",
  );
  assert.equal(
    helmCommand({ chartRef: "oci://registry.example.com/charts/daalu-edge", hubUrl: "https://hub.example.com", token: "dfi1_x-y_z" }),
    "helm install daalu-edge oci://registry.example.com/charts/daalu-edge --namespace daalu-edge --create-namespace --set hub.url=https://hub.example.com --set bootstrap.token=dfi1_x-y_z",
  );
});

test("helm command refuses values that would need shell quoting or split a --set", () => {
  assert.throws(() => helmCommand({ chartRef: "daalu/daalu-edge", hubUrl: "http://h; rm -rf /", token: "t" }), /hubUrl/);
  assert.throws(() => helmCommand({ chartRef: "a b", hubUrl: "http://h", token: "t" }), /chartRef/);
  assert.equal(isShellSafe("http://h,a=b"), false);
  assert.equal(isShellSafe("$(id)"), false);
  assert.equal(isShellSafe("http://hub.example.com:8080/x"), true);
});
