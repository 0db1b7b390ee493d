import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeCursor, encodeCursor } from "./cursor.js";

test("a cursor round-trips its position exactly", () => {
  const p = { time: new Date("2026-11-22T10:15:00.123Z"), id: "0190f5d2-7b1c-7a00-8000-000000000001" };
  const token = encodeCursor(p);
  assert.match(token, /^[A-Za-z0-9_-]+$/);
  assert.deepEqual(decodeCursor(token), p);
});

test("anything else is refused", () => {
  for (const t of ["", "!!", "abc", Buffer.from("[2,1,\"x\"]").toString("base64url"), Buffer.from('[1,1.5,"0190f5d2-7b1c-7a00-8000-000000000001"]').toString("base64url"), Buffer.from('[1,1,"nope"]').toString("base64url"), "a".repeat(500)]) {
    assert.equal(decodeCursor(t), undefined, t);
  }
});
