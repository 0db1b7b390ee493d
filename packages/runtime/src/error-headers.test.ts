import { test } from "node:test";
import assert from "node:assert/strict";
import { headers as natsHeaders } from "@nats-io/transport-node";
import { HEADER_ERROR_CODE, HEADER_ERROR_MESSAGE, HEADER_ERROR_REASON } from "./context.js";
import { Code, DaaluError } from "./errors.js";
import { errorFromHeaders, errorHeaders } from "./error-headers.js";

test("a DaaluError survives the headers: code, reason, message (any text), HTTP status", () => {
  const err = new DaaluError(Code.FailedPrecondition, "token expired — ask for a new one\nline two: 100% sure", { reason: "TOKEN_EXPIRED", httpStatus: 410 });
  const h = errorHeaders(err);
  assert.ok(!h.get(HEADER_ERROR_MESSAGE).includes("\n"), "header values carry no newline");
  const back = errorFromHeaders(h)!;
  assert.ok(back instanceof DaaluError);
  assert.deepEqual([back.code, back.reason, back.message, back.httpStatus], [err.code, err.reason, err.message, err.httpStatus]);
});

test("existing headers are kept; headers without an error code carry no error", () => {
  const h = natsHeaders();
  h.set("Daalu-Stream", "error");
  errorHeaders(new DaaluError(Code.Unavailable, "down"), h);
  assert.equal(h.get("Daalu-Stream"), "error");
  assert.equal(errorFromHeaders(undefined), undefined);
  assert.equal(errorFromHeaders(natsHeaders()), undefined);
});

test("what another sender may put there decodes without throwing", () => {
  const h = natsHeaders();
  h.set(HEADER_ERROR_CODE, String(Code.NotFound));
  h.set(HEADER_ERROR_MESSAGE, "50%off"); // not percent-encoding: shown as it came
  const e = errorFromHeaders(h)!;
  assert.equal(e.message, "50%off");
  assert.equal(e.code, Code.NotFound);
  assert.equal(e.reason, "NOT_FOUND", "a missing reason falls back to the code's");
  assert.equal(e.httpStatus, 404);

  const odd = natsHeaders();
  odd.set(HEADER_ERROR_CODE, "999");
  odd.set(HEADER_ERROR_REASON, "");
  assert.equal(errorFromHeaders(odd)!.code, Code.Unknown);
});
