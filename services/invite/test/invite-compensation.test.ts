import { test } from "node:test";
import assert from "node:assert/strict";
import pg from "pg";
import { Code, type DaaluError } from "@daalu/runtime";
import { generateKeyPair } from "@daalu/wireguard";
import { inviteGrpcClient } from "../src/client.js";
import { stack } from "./harness.js";

test("a failed invite insert deletes the cluster it registered (no orphan row)", async (t) => {
  const s = await stack(t);
  // Fault injection in the invite schema only: inserts for one cluster name fail.
  const db = new pg.Client({ connectionString: s.env.databaseUrl });
  await db.connect();
  // Closed before the stack's teardown drops the database under it.
  db.on("error", () => undefined);
  await db.query(`
    create function invite.fail_doomed() returns trigger language plpgsql as $$
    begin
      if new.cluster_name = 'doomed' then raise exception 'injected failure'; end if;
      return new;
    end $$;
    create trigger fail_doomed before insert on invite.invites for each row execute function invite.fail_doomed();`);

  await assert.rejects(s.invites.createInvite({ clusterName: "doomed" }, s.as("acme")), (e: DaaluError) => e.code === Code.Internal && !e.message.includes("injected"));
  const { clusters } = await s.peering.listClusters({}, s.as("acme"));
  assert.deepEqual(clusters.map((c) => c.name), [], "the cluster was deleted again");
  assert.deepEqual((await s.invites.listInvites({}, s.as("acme"))).invites, []);

  // The name is free again and works once the fault is gone.
  await db.query("drop trigger fail_doomed on invite.invites");
  await db.end();
  const created = await s.invites.createInvite({ clusterName: "doomed" }, s.as("acme"));
  assert.equal((await s.peering.listClusters({}, s.as("acme"))).clusters.length, 1);
  assert.equal(created.invite!.clusterName, "doomed");
});

test("the gRPC adapter serves the same contract and errors", async (t) => {
  const s = await stack(t, false);
  const inv = await s.startInvite();
  assert.ok(inv.grpcPort);
  const client = inviteGrpcClient(`127.0.0.1:${inv.grpcPort}`);
  t.after(() => client.close());
  const created = await client.createInvite({ clusterName: "via-grpc" }, s.as("acme"));
  await assert.rejects(client.redeemInvite({ token: created.token, publicKey: "nope" }), (e: DaaluError) => e.reason === "INVALID_PUBLIC_KEY" && e.httpStatus === 400);
  const cfg = await client.redeemInvite({ token: created.token, publicKey: generateKeyPair().publicKey });
  assert.equal(cfg.clusterId, created.invite!.clusterId);
  await assert.rejects(client.redeemInvite({ token: created.token, publicKey: generateKeyPair().publicKey }), (e: DaaluError) => e.reason === "TOKEN_ALREADY_USED" && e.httpStatus === 409);
});
