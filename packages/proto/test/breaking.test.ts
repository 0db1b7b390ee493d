/**
 * Version skew: an installed edge speaks the contract of its release, so the
 * hub's contracts may grow but never break. `scripts/proto-breaking.sh` (run by
 * scripts/test.sh, `npm run lint:proto:breaking`) checks proto/ with the real
 * `buf breaking` against the released contract (the committed image
 * testdata/proto/baseline.binpb) and against main. These tests pin that the
 * check passes as the contracts are and fails on a breaking change to the
 * edge's and peering's messages.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const BUF = path.join(ROOT, "node_modules/.bin/buf");
const BASELINE = path.join(ROOT, "testdata/proto/baseline.binpb");

function run(cmd: string, args: string[], cwd: string): { code: number | null; out: string } {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8", timeout: 120_000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

/** buf breaking on a copy of proto/ with `edit` applied to one file. */
function breakingAfter(file: string, edit: (text: string) => string): { code: number | null; out: string } {
  const dir = mkdtempSync(path.join(tmpdir(), "daalu-breaking-"));
  try {
    cpSync(path.join(ROOT, "buf.yaml"), path.join(dir, "buf.yaml"));
    cpSync(path.join(ROOT, "proto"), path.join(dir, "proto"), { recursive: true });
    const p = path.join(dir, "proto", file);
    const before = readFileSync(p, "utf8");
    const after = edit(before);
    assert.notEqual(after, before, `the edit changed ${file}`);
    writeFileSync(p, after);
    return run(BUF, ["breaking", "--against", BASELINE], dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("buf breaking against the released contract", () => {
  it("passes for the contracts as they are (scripts/proto-breaking.sh, baseline and main)", () => {
    const r = run("bash", ["scripts/proto-breaking.sh"], ROOT);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /against the released contract/);
  });

  it("fails when a field of an edge message changes type", () => {
    const r = breakingAfter("daalu/edge/v1/edge.proto", (s) => s.replace("uint32 node_count = 5;", "string node_count = 5;"));
    assert.equal(r.code, 100, r.out);
    assert.match(r.out, /edge\.proto:\d+:\d+:Field "5" with name "node_count" on message "GetStatusResponse" changed type from "uint32" to "string"/);
  });

  it("fails when a field of a peering message is removed", () => {
    const r = breakingAfter("daalu/peering/v1/hub.proto", (s) => s.replace(/\n\s*string edge_version = 4;/, ""));
    assert.equal(r.code, 100, r.out);
    assert.match(r.out, /Previously present field "4" with name "edge_version" on message "ProbeReport" was deleted/);
  });

  it("fails when an rpc the edge serves is removed", () => {
    const r = breakingAfter("daalu/edge/v1/edge.proto", (s) => s.replace(/\n\s*rpc GetStatus\(GetStatusRequest\) returns \(GetStatusResponse\);/, ""));
    assert.equal(r.code, 100, r.out);
    assert.match(r.out, /Previously present RPC "GetStatus" on service "EdgeService" was deleted/);
  });
});
