import { test } from "node:test";
import assert from "node:assert/strict";
import { closeSync, mkdtempSync, rmSync, statSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DaemonLog } from "./daemon-log.js";

test("the daemon's log is followed line by line and emptied once it passes its bound, never growing without one", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "daemon-log-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, "wg0.log");
  const { log, fd } = DaemonLog.create(path, 64);
  t.after(() => closeSync(fd));
  // The daemon's descriptor, as wireguard-go writes through it.
  writeSync(fd, "first line\nsecond ");
  assert.deepEqual(log.read(), ["first line"]);
  writeSync(fd, "half\n");
  assert.deepEqual(log.read(), ["second half"]);
  const long = "x".repeat(40);
  writeSync(fd, `${long}\n${long}\n`);
  assert.deepEqual(log.read(), [long, long]);
  // Past 64 bytes, all read: emptied; the daemon's next write lands at 0, not behind a hole at its old offset.
  assert.equal(statSync(path).size, 0);
  writeSync(fd, "after truncation\n");
  assert.equal(statSync(path).size, "after truncation\n".length);
  assert.deepEqual(log.read(), ["after truncation"]);
  // A follower that takes a running daemon over sees only what it writes from then on.
  const next = DaemonLog.takeOver(path, 64);
  writeSync(fd, "new owner\n");
  assert.deepEqual(next.read(), ["new owner"]);
  log.stop(true);
  assert.throws(() => statSync(path), /ENOENT/);
});
