import { test } from "node:test";
import assert from "node:assert/strict";
import { closeSync, existsSync, fstatSync, mkdtempSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DaemonLog } from "./daemon-log.js";

test("the daemon's log has no name to leave behind, is followed line by line, and is emptied past its bound", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "daemon-log-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, "wg0.log");
  const { log, fd } = DaemonLog.create(path, 64);
  t.after(() => closeSync(fd));
  assert.equal(existsSync(path), false, "unlinked at once: a killed owner leaves no file");
  // The daemon's descriptor, as wireguard-go writes through it.
  writeSync(fd, "first line\nsecond ");
  assert.deepEqual(log.read(), ["first line"]);
  writeSync(fd, "half\n");
  assert.deepEqual(log.read(), ["second half"]);
  const long = "x".repeat(40);
  writeSync(fd, `${long}\n${long}\n`);
  assert.deepEqual(log.read(), [long, long]);
  // Past 64 bytes, all read: emptied; the daemon's next write lands at 0, not behind a hole at its old offset.
  assert.equal(fstatSync(fd).size, 0);
  writeSync(fd, "after truncation\n");
  assert.equal(fstatSync(fd).size, "after truncation\n".length);
  assert.deepEqual(log.read(), ["after truncation"]);
  // A process taking the running daemon over reaches the file through the daemon's descriptor (/proc/<pid>/fd/1;
  // here this process's own), from its end on.
  const next = DaemonLog.attach(`/proc/self/fd/${fd}`, 64);
  writeSync(fd, "new owner\n");
  assert.deepEqual(next.read(), ["new owner"]);
  next.stop();
  log.stop();
  assert.deepEqual(log.read(), [], "stopped: nothing more is read");
});

test("taking over an interface with no wireguard-go running follows nothing", () => {
  assert.deepEqual(DaemonLog.takeOver("no-such-wg-if").read(), []);
});
