/** The /proc parsing and the median of `bench wg-floor` (bench/lib/wg-floor-proc.ts), on texts as Linux writes them. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { median, minus, parseCtx, parseStat, parseSyscalls, plus, readCounters } from "./wg-floor-proc.js";

test("parseStat reads utime and stime past a comm with spaces and parentheses", () => {
  const stat = "4242 (wireguard-go (x) y) S 1 4242 4242 0 -1 4194560 300 0 0 0 1234 567 0 0 20 0 9 0 100 0 0";
  const { user, sys } = parseStat(stat);
  assert.equal(Math.round(user * 100), 1234);
  assert.equal(Math.round(sys * 100), 567);
});

test("parseCtx sums voluntary and nonvoluntary switches", () => {
  const status = "Name:\tnode\nState:\tS (sleeping)\nvoluntary_ctxt_switches:\t120\nnonvoluntary_ctxt_switches:\t7\n";
  assert.equal(parseCtx(status), 127);
  assert.equal(parseCtx("Name:\tnode\n"), 0);
});

test("parseSyscalls sums syscr and syscw and nothing else", () => {
  const io = "rchar: 999999\nwchar: 888888\nsyscr: 1500\nsyscw: 766\nread_bytes: 0\nwrite_bytes: 4096\ncancelled_write_bytes: 0\n";
  assert.equal(parseSyscalls(io), 2266);
});

test("median takes the middle (the upper of an even count) without reordering its input", () => {
  const xs = [36.6, 31.8, 34.7];
  assert.equal(median(xs), 34.7);
  assert.deepEqual(xs, [36.6, 31.8, 34.7]);
  assert.equal(median([1, 4, 2, 3]), 3);
  assert.equal(median([]), 0);
});

test("readCounters of this process moves forward with work; of a gone pid is all zeros", () => {
  const a = readCounters(process.pid);
  let x = 0;
  for (let i = 0; i < 3e7; i++) x += i % 7;
  assert.ok(x > 0);
  const d = minus(readCounters(process.pid), a);
  assert.ok(d.user + d.sys > 0, `no CPU counted: ${JSON.stringify(d)}`);
  assert.deepEqual(readCounters(2 ** 22 + 1), { user: 0, sys: 0, ctx: 0, syscalls: 0 });
  assert.deepEqual(plus(d, minus(a, a)), d);
});
