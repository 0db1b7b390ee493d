import { test } from "node:test";
import assert from "node:assert/strict";
import { allowSession, upgradeHeaders, UPGRADE_REQUEST_HEADERS } from "./upgrade-policy.js";

const own = "daalu-edge";

test("allows exactly exec, attach and portforward of a pod, GET or POST", () => {
  for (const sub of ["exec", "attach", "portforward"]) {
    const d = allowSession({ target: "kubernetes", method: "GET", path: `/api/v1/namespaces/default/pods/web/${sub}?command=sh` }, own);
    assert.deepEqual(d, { ok: true, subresource: sub });
  }
  assert.equal(allowSession({ target: "kubernetes", method: "POST", path: "/api/v1/namespaces/default/pods/web/exec" }, own).ok, true);
});

test("refuses other paths, methods and targets", () => {
  const refused = [
    { target: "kubernetes", method: "GET", path: "/api/v1/namespaces/default/pods/web/log" },
    { target: "kubernetes", method: "GET", path: "/api/v1/namespaces/default/pods/web" },
    { target: "kubernetes", method: "GET", path: "/api/v1/namespaces/default/services/web/proxy" },
    { target: "kubernetes", method: "GET", path: "/api/v1/nodes/n1/proxy/exec" },
    { target: "kubernetes", method: "GET", path: "/api/v1/namespaces/default/pods/web/exec/extra" },
    { target: "kubernetes", method: "GET", path: "/api/v1/namespaces/default/pods/web/%65xec%2f" },
    { target: "kubernetes", method: "GET", path: "/api/v1/namespaces/default/pods/../pods/web/exec" },
    { target: "kubernetes", method: "DELETE", path: "/api/v1/namespaces/default/pods/web/exec" },
    { target: "prometheus", method: "GET", path: "/api/v1/namespaces/default/pods/web/exec" },
  ];
  for (const r of refused) {
    const d = allowSession(r, own);
    assert.equal(d.ok, false, JSON.stringify(r));
    assert.equal(d.ok === false && d.status, undefined, JSON.stringify(r));
  }
});

test("refuses any session into the edge's own namespace with a 403 Status, however the path is spelled", () => {
  for (const path of ["/api/v1/namespaces/daalu-edge/pods/edge-0/exec", "/api/v1/namespaces/DAALU-EDGE/pods/edge-0/attach", "/api/v1/namespaces/%64aalu-edge/pods/edge-0/portforward"]) {
    const d = allowSession({ target: "kubernetes", method: "GET", path }, own);
    assert.equal(d.ok, false, path);
    assert.equal(d.ok === false && d.status?.code, 403, path);
  }
});

test("upgrade headers keep every value of a repeated header and never Authorization", () => {
  const h = upgradeHeaders(
    [
      { name: "X-Stream-Protocol-Version", value: "v4.channel.k8s.io" },
      { name: "X-Stream-Protocol-Version", value: "v3.channel.k8s.io" },
      { name: "Authorization", value: "Bearer x" },
      { name: "Upgrade", value: "SPDY/3.1" },
      { name: "Accept", value: "*/*" },
      { name: "Connection", value: "Upgrade\r\nX-Evil: 1" },
    ],
    UPGRADE_REQUEST_HEADERS,
    new Set(["accept"]),
  );
  assert.deepEqual(h, { "x-stream-protocol-version": ["v4.channel.k8s.io", "v3.channel.k8s.io"], upgrade: ["SPDY/3.1"], accept: ["*/*"] });
});
