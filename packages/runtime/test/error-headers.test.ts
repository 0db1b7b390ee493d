import { test } from "node:test";
import assert from "node:assert/strict";
import { headers as natsHeaders } from "@nats-io/transport-node";
import { invitev1 } from "@daalu/proto";
import { setup } from "@daalu/testing";
import { Code, DaaluError, HEADER_ERROR_CODE, HEADER_ERROR_MESSAGE, natsClient } from "@daalu/runtime";

test("a NATS client turns an error reply with an undecodable message into its DaaluError, not a URIError", async (t) => {
  const env = await setup();
  t.after(() => env.cleanup());
  // A responder that is not our serveNats: its message is not percent-encoding.
  const sub = env.nc.subscribe(`${env.prefix}.daalu.invite.v1.RedeemInvite`, {
    callback: (_err, msg) => {
      const h = natsHeaders();
      h.set(HEADER_ERROR_CODE, String(Code.NotFound));
      h.set(HEADER_ERROR_MESSAGE, "no such token (100%)");
      msg.respond(new Uint8Array(0), { headers: h });
    },
  });
  t.after(() => sub.unsubscribe());
  await env.nc.flush();
  const client = natsClient(env.nc, invitev1.InviteService, { prefix: env.prefix });
  await assert.rejects(client.redeemInvite({ token: "x" }), (e: unknown) => e instanceof DaaluError && e.code === Code.NotFound && e.message === "no such token (100%)");
});
