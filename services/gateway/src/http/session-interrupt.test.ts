import { test } from "node:test";
import assert from "node:assert/strict";
import { interruptNotice } from "./session-interrupt.js";

const ws = (protocol: string) => [
  { name: "Upgrade", value: "websocket" },
  { name: "Sec-WebSocket-Protocol", value: protocol },
];
/** An unmasked server frame. */
const frame = (opcode: number, payload: Buffer, fin = true) => Buffer.concat([Buffer.from([(fin ? 0x80 : 0) | opcode, payload.length]), payload]);
const CUT = "the peer was silent for 8000 ms";

/** The frames of `bytes`: [opcode, payload] each. */
function frames(bytes: Buffer): [number, Buffer][] {
  const out: [number, Buffer][] = [];
  for (let at = 0; at < bytes.length; ) {
    let len = bytes[at + 1]! & 0x7f;
    let head = 2;
    if (len === 126) {
      len = bytes.readUInt16BE(at + 2);
      head = 4;
    }
    out.push([bytes[at]! & 0x0f, bytes.subarray(at + head, at + head + len)]);
    at += head + len;
  }
  return out;
}

test("exec over v5: a cut session gets a Status on the error channel, then a 1011 close, both with the hub's reason", () => {
  const n = interruptNotice("exec", 101, ws("v5.channel.k8s.io"));
  n.push(frame(0x2, Buffer.from("\x01hello")));
  const [status, close] = frames(n.closing(CUT));
  assert.equal(status![0], 0x2);
  assert.equal(status![1][0], 3, "the error channel");
  const s = JSON.parse(status![1].subarray(1).toString()) as { status: string; message: string };
  assert.equal(s.status, "Failure");
  assert.match(s.message, /^the session was interrupted by the hub: the hub's tunnel-proxy stopped answering/);
  assert.equal(close![0], 0x8);
  assert.equal(close![1].readUInt16BE(0), 1011);
  assert.ok(close![1].length <= 125, "a control frame's payload");
  assert.match(close![1].subarray(2).toString(), /^the session was interrupted by the hub/);
});

test("nothing is added to a session that ended normally, after the API server's own close, mid-frame, or over SPDY", () => {
  assert.equal(interruptNotice("exec", 101, ws("v5.channel.k8s.io")).closing("the API server closed the connection").length, 0);
  const closed = interruptNotice("exec", 101, ws("v5.channel.k8s.io"));
  closed.push(frame(0x8, Buffer.from([0x03, 0xe8])));
  assert.equal(closed.closing(CUT).length, 0);
  const mid = interruptNotice("exec", 101, ws("v5.channel.k8s.io"));
  mid.push(frame(0x2, Buffer.from("\x01hello")).subarray(0, 4));
  assert.equal(mid.closing(CUT).length, 0, "inside a frame nothing can be written");
  assert.equal(interruptNotice("exec", 101, [{ name: "Upgrade", value: "SPDY/3.1" }]).closing(CUT).length, 0);
});

test("the API server's Status already came, a fragmented message is open, or port-forward: only the close frame", () => {
  const exited = interruptNotice("exec", 101, ws("v4.channel.k8s.io"));
  exited.push(frame(0x2, Buffer.from(`\x03${JSON.stringify({ status: "Success" })}`)));
  assert.deepEqual(frames(exited.closing(CUT)).map((f) => f[0]), [0x8]);
  const fragment = interruptNotice("attach", 101, ws("v5.channel.k8s.io"));
  fragment.push(frame(0x2, Buffer.from("\x01part"), false));
  assert.deepEqual(frames(fragment.closing(CUT)).map((f) => f[0]), [0x8], "a control frame may come between fragments, a message may not");
  assert.deepEqual(frames(interruptNotice("portforward", 101, ws("SPDY/3.1+portforward.k8s.io")).closing(CUT)).map((f) => f[0]), [0x8]);
});
