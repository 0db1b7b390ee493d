import { test, mock } from "node:test";
import assert from "node:assert/strict";
import { createLogger, type DaaluError } from "@daalu/runtime";
import type { GatewayStore } from "./adapters/pg/store.js";
import { Authenticator } from "./auth.js";
import { apiTokens } from "./domain/api-token.js";

const logger = createLogger("gateway-test", "silent");

test("an unknown selector runs the same constant-time compare as a wrong verifier", async (t) => {
  const verify = mock.method(apiTokens, "verify");
  t.after(() => verify.mock.restore());
  const store = { tokenBySelector: async () => undefined, touchToken: async () => undefined } as unknown as GatewayStore;
  const auth = new Authenticator(store, 0, logger);
  const token = apiTokens.generate().token;
  await assert.rejects(auth.authenticate(`Bearer ${token}`), (e: DaaluError) => e.reason === "UNAUTHENTICATED");
  assert.equal(verify.mock.callCount(), 1, "the verifier was compared although no row has the selector");
  assert.equal(verify.mock.calls[0]!.arguments[1], undefined);
});

test("a non-canonical token is refused before any lookup", async () => {
  let lookups = 0;
  const store = { tokenBySelector: async () => (lookups++, undefined), touchToken: async () => undefined } as unknown as GatewayStore;
  const auth = new Authenticator(store, 0, logger);
  // Spare bits set in the selector's last character: decodes to the same bytes as "...A", but is not our spelling.
  const token = `dak1_${"A".repeat(21)}B_${"A".repeat(43)}`;
  await assert.rejects(auth.authenticate(`Bearer ${token}`), (e: DaaluError) => e.reason === "UNAUTHENTICATED" && /malformed/.test(e.message));
  assert.equal(lookups, 0);
});
