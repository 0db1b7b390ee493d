/**
 * The container images and the single-machine compose file, checked without a Docker engine (none runs on these
 * machines): both Dockerfiles pass a real Dockerfile linter (dockerfile-utils, the Docker language server's), are
 * multi-stage on a Node 22/24 slim base, build with the same `npm run build` the tests run (compiled.test.ts)
 * and run compiled code as a non-root user; compose.yaml runs every hub service from the hub image the way the
 * chart does, secrets only from the environment.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { validate } from "dockerfile-utils";
import { parse } from "yaml";
import { REPO_ROOT } from "@daalu/runtime";
import { HUB_SERVICES } from "../src/index.js";

const DOCKERFILES = ["deploy/hub.Dockerfile", "deploy/edge.Dockerfile"];

test("the Dockerfiles pass dockerfile-utils' linter with no error and no warning", () => {
  for (const f of DOCKERFILES) {
    const problems = validate(readFileSync(path.join(REPO_ROOT, f), "utf8"));
    assert.deepEqual(problems.map((p) => `${f}:${p.range.start.line + 1}: ${p.message}`), []);
  }
  // The linter finds what it should: a broken file is not "clean".
  assert.ok(validate("FROM\nEXPOSE abc\n").length >= 2);
});

test("the Dockerfiles: multi-stage, Node 22 or 24 slim, npm run build, compiled entry, non-root user", () => {
  for (const f of DOCKERFILES) {
    const text = readFileSync(path.join(REPO_ROOT, f), "utf8");
    const base = /^ARG NODE_IMAGE=(\S+)$/m.exec(text)?.[1] ?? "";
    assert.match(base, /^node:(22|24)-[a-z]+-slim$/, `${f}: base ${base}`);
    assert.ok((text.match(/^FROM /gm) ?? []).length >= 3, `${f}: multi-stage`);
    assert.match(text, /^RUN npm run build/m, `${f}: the tests' build step`);
    const final = text.slice(text.lastIndexOf("\nFROM "));
    const user = /^USER (\S+)$/m.exec(final)?.[1] ?? "root";
    assert.ok(!["root", "0", "0:0"].includes(user), `${f}: runs as ${user}`);
    assert.match(final, /ENTRYPOINT \["node", "--conditions=daalu-dist", "--enable-source-maps"/, `${f}: compiled entry`);
    assert.doesNotMatch(final, /tsx/, `${f}: tsx at run time`);
  }
});

test("compose.yaml: every hub service from the hub image, the WireGuard node with NET_ADMIN and UDP 51820, secrets from .env", () => {
  const text = readFileSync(path.join(REPO_ROOT, "compose.yaml"), "utf8");
  type Svc = { image?: string; command?: string[]; cap_add?: string[]; ports?: string[]; network_mode?: string; environment?: Record<string, string>; user?: string };
  const doc = parse(text, { merge: true }) as { services: Record<string, Svc> };
  for (const s of HUB_SERVICES) {
    const svc = doc.services[s];
    assert.ok(svc, s);
    assert.equal(svc.image, "daalu/hub:0.1.0", s);
    assert.deepEqual(svc.command, [`services/${s}/dist/main.js`], s);
    assert.equal(svc.environment?.["DAALU_METRICS_LISTEN"]?.startsWith("0.0.0.0:"), true, s);
  }
  const peering = doc.services["peering"]!;
  assert.deepEqual(peering.cap_add, ["NET_ADMIN"]);
  assert.ok(peering.ports?.includes("51820:51820/udp"));
  assert.equal(peering.environment?.["PEERING_WG"], "on");
  assert.equal(doc.services["tunnel-proxy"]!.network_mode, "service:peering");
  assert.equal(doc.services["gateway"]!.user, undefined, "the gateway runs as the image's non-root user");
  // Every secret is a required variable (${VAR:?...}), never a literal.
  assert.match(text, /POSTGRES_PASSWORD: \$\{POSTGRES_PASSWORD:\?/);
  assert.match(text, /PEERING_KEY_ENCRYPTION_KEYS: \$\{PEERING_KEY_ENCRYPTION_KEYS:\?/);
});
