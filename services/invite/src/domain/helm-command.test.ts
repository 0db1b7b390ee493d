import { test } from "node:test";
import assert from "node:assert/strict";
import { helmCommand, helmUpgradeCommand, isShellSafe } from "./helm-command.js";

test("helm command has exactly the documented form: the hub's own chart repository by default", () => {
  assert.equal(
    helmCommand({ chartVersion: "0.1.0", hubUrl: "http://127.0.0.1:8080", token: "dfi1_abc_def" }),
    "helm install daalu-edge daalu-edge --repo http://127.0.0.1:8080/charts --version 0.1.0 --namespace daalu-edge --create-namespace --set hub.url=http://127.0.0.1:8080 --set bootstrap.token=dfi1_abc_def",
  );
  assert.equal(
    helmCommand({ chartVersion: "1.2.3", hubUrl: "https://hub.example.com/", token: "t" }).split(" ").slice(0, 8).join(" "),
    "helm install daalu-edge daalu-edge --repo https://hub.example.com/charts --version 1.2.3",
    "no double slash before charts",
  );
  assert.equal(
    helmCommand({ chartRef: "oci://registry.example.com/charts/daalu-edge", chartVersion: "0.1.0", hubUrl: "https://hub.example.com", token: "dfi1_x-y_z" }),
    "helm install daalu-edge oci://registry.example.com/charts/daalu-edge --version 0.1.0 --namespace daalu-edge --create-namespace --set hub.url=https://hub.example.com --set bootstrap.token=dfi1_x-y_z",
  );
});

test("helm command refuses values that would need shell quoting or split a --set", () => {
  assert.throws(() => helmCommand({ chartVersion: "0.1.0", hubUrl: "http://h; rm -rf /", token: "t" }), /hubUrl/);
  assert.throws(() => helmCommand({ chartRef: "a b", chartVersion: "0.1.0", hubUrl: "http://h", token: "t" }), /chartRef/);
  assert.throws(() => helmCommand({ chartVersion: "1.0 --devel", hubUrl: "http://h", token: "t" }), /chartVersion/);
  assert.equal(isShellSafe("http://h,a=b"), false);
  assert.equal(isShellSafe("$(id)"), false);
  assert.equal(isShellSafe("http://hub.example.com:8080/x"), true);
});

test("the upgrade command names the install command's chart reference, release and namespace", () => {
  assert.equal(
    helmUpgradeCommand({ chartVersion: "0.2.0", hubUrl: "https://hub.example.com/" }),
    "helm upgrade daalu-edge daalu-edge --repo https://hub.example.com/charts --version 0.2.0 -n daalu-edge --reuse-values",
  );
  assert.equal(
    helmUpgradeCommand({ chartRef: "oci://registry.example.com/charts/daalu-edge", chartVersion: "0.2.0", hubUrl: "https://hub.example.com" }),
    "helm upgrade daalu-edge oci://registry.example.com/charts/daalu-edge --version 0.2.0 -n daalu-edge --reuse-values",
  );
  const install = helmCommand({ chartVersion: "0.2.0", hubUrl: "https://hub.example.com", token: "t" }).split(" ");
  const upgrade = helmUpgradeCommand({ chartVersion: "0.2.0", hubUrl: "https://hub.example.com" }).split(" ");
  assert.deepEqual(upgrade.slice(2, 7), install.slice(2, 7), "release, chart, --repo and --version as installed");
  assert.equal(upgrade[upgrade.indexOf("-n") + 1], install[install.indexOf("--namespace") + 1]);
  assert.throws(() => helmUpgradeCommand({ chartVersion: "0.2.0 --devel", hubUrl: "http://h" }), /chartVersion/);
});
