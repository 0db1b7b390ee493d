import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { candidateRange, freePort } from "./ports.js";

test("freePort hands out distinct ports below the kernel's ephemeral range that can be bound", async () => {
  const [, hi] = candidateRange();
  const ports = new Set<number>();
  for (let i = 0; i < 100; i++) {
    const p = await freePort();
    assert.ok(p <= hi, `${p} is in the ephemeral range (above ${hi})`);
    assert.ok(!ports.has(p), `${p} handed out twice`);
    ports.add(p);
  }
  const p = [...ports][0]!;
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(p, "127.0.0.1", r));
  await new Promise<void>((r) => s.close(() => r()));
});

test("candidateRange ends just below the configured ephemeral range, with the Linux default when unreadable", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "ports-"));
  const f = path.join(dir, "range");
  writeFileSync(f, "40000\t60999\n");
  assert.deepEqual(candidateRange(f), [10_000, 39_999]);
  assert.deepEqual(candidateRange(path.join(dir, "missing")), [10_000, 32_767]);
});
