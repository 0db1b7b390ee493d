import { test } from "node:test";
import assert from "node:assert/strict";
import { allowRequest, DEFAULT_ALLOWED_METHODS } from "./policy.js";
import { parseHttpTargets } from "./targets.js";

test("well-known targets get their read-only query APIs", () => {
  const problems: string[] = [];
  const t = parseHttpTargets("prometheus=prometheus-server.monitoring.svc:9090, loki=http://loki.monitoring.svc:3100,grafana=https://grafana.monitoring.svc:443/grafana/", problems);
  assert.deepEqual(problems, []);
  assert.equal(t["prometheus"]!.url, "http://prometheus-server.monitoring.svc:9090");
  assert.equal(t["grafana"]!.url, "https://grafana.monitoring.svc/grafana");
  const allow = (target: string, path: string) => allowRequest({ target, method: "GET", path }, { methods: DEFAULT_ALLOWED_METHODS, targets: t, ownNamespace: "daalu-edge" }).ok;
  assert.equal(allow("prometheus", "/api/v1/query?query=up"), true);
  assert.equal(allow("prometheus", "/api/v1/label/job/values"), true);
  assert.equal(allow("prometheus", "/api/v1/admin/tsdb/delete_series"), false);
  assert.equal(allow("loki", "/loki/api/v1/query_range?query=%7Bapp%3D%22web%22%7D"), true);
  assert.equal(allow("grafana", "/api/admin/users"), false);
});

test("explicit prefixes, and every problem reported at once", () => {
  const problems: string[] = [];
  const t = parseHttpTargets("app=web.shop.svc:8080|/status|/api/v2", problems);
  assert.deepEqual(t["app"]!.pathPrefixes, ["/status", "/api/v2"]);
  parseHttpTargets("kubernetes=x:1,Bad=x:1,custom=svc:80,prometheus=prom,p=h:1|/a/../b,loki=a:1,loki=b:2,u=http://user:pw@h:1", problems);
  assert.equal(problems.length, 7, problems.join("\n"));
});
