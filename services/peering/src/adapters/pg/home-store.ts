/**
 * Several hub WireGuard nodes (docs/architecture.md "Several hub nodes"):
 * `hub_nodes` is each node's heartbeat, and `clusters.home_node` the node
 * that carries a cluster's tunnel now. A node claims a cluster with one
 * conditional UPDATE that also bumps `home_epoch`, so of two nodes racing for
 * the same handshake exactly one wins, and a late event never undoes a newer
 * claim (its epoch is lower).
 */
import { sql, storeError, type Migration } from "@daalu/runtime";
import type { Kysely } from "kysely";
import { isUuid } from "../../domain/cluster.js";
import type { PeeringDb } from "./schema.js";

/** Migration `202612030800_hub_nodes_homes` (listed in migrations.ts). */
export const hubNodesMigration: Migration = {
  async up(db) {
    await sql`
      create table hub_nodes (
        id text primary key,
        endpoint text not null default '',
        heartbeat_at timestamptz not null default now(),
        draining boolean not null default false
      )`.execute(db);
    await sql`
      alter table clusters
        add column home_node text,
        add column home_epoch bigint not null default 0,
        add column home_since timestamptz`.execute(db);
    await sql`create index clusters_home_node on clusters (home_node) where home_node is not null`.execute(db);
  },
};

/** A hub node as its heartbeat row says. */
export interface HubNodeRow {
  id: string;
  endpoint: string;
  heartbeatAt: Date;
  draining: boolean;
}

/** Where a cluster's tunnel lives. */
export interface ClusterHome {
  clusterId: string;
  tenantId: string;
  homeNode: string | null;
  homeEpoch: number;
  /** The handshake (on the home node's device) that won the claim. */
  homeSince: Date | null;
}

/** A won claim: the new home and the node it came from. */
export interface HomeClaim extends ClusterHome {
  previousHomeNode: string | null;
}

interface HomeRow {
  id: string;
  tenant_id: string;
  home_node: string | null;
  home_epoch: string;
  home_since: Date | null;
}

const toHome = (r: HomeRow): ClusterHome => ({ clusterId: r.id, tenantId: r.tenant_id, homeNode: r.home_node, homeEpoch: Number(r.home_epoch), homeSince: r.home_since });

/** A silent hub node that carries no cluster is forgotten after this long (a week: long enough to come back from any outage). */
export const HUB_NODE_FORGET_AFTER_MS = 7 * 24 * 3600 * 1000;

export class HomeStore {
  constructor(private readonly db: Kysely<PeeringDb>) {}

  /**
   * Writes this node's heartbeat (and endpoint, draining flag); returns every node whose heartbeat is younger than
   * `liveWithinMs`, this one included. Also forgets nodes silent for `forgetAfterMs` that carry no cluster (a node
   * that died and never came back: a drained one deletes its own row), so the table does not keep every node a
   * rolling update or an autoscaler ever ran.
   */
  async heartbeat(node: { id: string; endpoint: string; draining: boolean }, liveWithinMs: number, forgetAfterMs = HUB_NODE_FORGET_AFTER_MS): Promise<HubNodeRow[]> {
    try {
      await sql`
        insert into hub_nodes (id, endpoint, heartbeat_at, draining) values (${node.id}, ${node.endpoint}, now(), ${node.draining})
        on conflict (id) do update set endpoint = excluded.endpoint, heartbeat_at = excluded.heartbeat_at, draining = excluded.draining`.execute(this.db);
      await sql`
        delete from hub_nodes n where n.heartbeat_at < now() - make_interval(secs => ${forgetAfterMs / 1000})
          and not exists (select 1 from clusters c where c.home_node = n.id)`.execute(this.db);
      return await this.liveNodes(liveWithinMs);
    } catch (err) {
      throw storeError(err);
    }
  }

  /** Nodes whose heartbeat is younger than `liveWithinMs`, by id. */
  async liveNodes(liveWithinMs: number): Promise<HubNodeRow[]> {
    try {
      const r = await sql<{ id: string; endpoint: string; heartbeat_at: Date; draining: boolean }>`
        select id, endpoint, heartbeat_at, draining from hub_nodes
        where heartbeat_at > now() - make_interval(secs => ${liveWithinMs / 1000}) order by id`.execute(this.db);
      return r.rows.map((x) => ({ id: x.id, endpoint: x.endpoint, heartbeatAt: x.heartbeat_at, draining: x.draining }));
    } catch (err) {
      throw storeError(err);
    }
  }

  /** Every enrolled cluster's home. */
  async homes(): Promise<Map<string, ClusterHome>> {
    try {
      const r = await sql<HomeRow>`select id, tenant_id, home_node, home_epoch, home_since from clusters where public_key is not null`.execute(this.db);
      return new Map(r.rows.map((x) => [x.id, toHome(x)]));
    } catch (err) {
      throw storeError(err);
    }
  }

  /** One cluster's home, or undefined when it is gone or not enrolled. */
  async home(clusterId: string): Promise<ClusterHome | undefined> {
    if (!isUuid(clusterId)) return undefined;
    try {
      const r = await sql<HomeRow>`
        select id, tenant_id, home_node, home_epoch, home_since from clusters where id = ${clusterId}::uuid and public_key is not null`.execute(this.db);
      return r.rows[0] ? toHome(r.rows[0]) : undefined;
    } catch (err) {
      throw storeError(err);
    }
  }

  /** The clusters `nodeId` carries now. */
  async homedOn(nodeId: string): Promise<ClusterHome[]> {
    try {
      const r = await sql<HomeRow>`
        select id, tenant_id, home_node, home_epoch, home_since from clusters where home_node = ${nodeId} and public_key is not null order by id`.execute(this.db);
      return r.rows.map(toHome);
    } catch (err) {
      throw storeError(err);
    }
  }

  /**
   * `nodeId` claims the cluster because its device saw a handshake at
   * `handshakeAt`: wins only when that handshake is newer than the current
   * home's and the node is not the home already. Returns the claim, or
   * undefined when another node holds a newer handshake (or the cluster is gone).
   */
  async claim(clusterId: string, nodeId: string, handshakeAt: Date): Promise<HomeClaim | undefined> {
    if (!isUuid(clusterId)) return undefined;
    try {
      const r = await sql<HomeRow & { previous_home_node: string | null }>`
        update clusters c set home_node = ${nodeId}, home_epoch = c.home_epoch + 1, home_since = ${handshakeAt}
        from (select id, home_node from clusters where id = ${clusterId}::uuid for update) old
        where c.id = old.id and c.public_key is not null
          and (c.home_since is null or c.home_since < ${handshakeAt})
          and c.home_node is distinct from ${nodeId}
        returning c.id, c.tenant_id, c.home_node, c.home_epoch, c.home_since, old.home_node as previous_home_node`.execute(this.db);
      const row = r.rows[0];
      return row ? { ...toHome(row), previousHomeNode: row.previous_home_node } : undefined;
    } catch (err) {
      throw storeError(err);
    }
  }

  /** A node that stops for good (drained) leaves the table, so it never counts as live or stale again. */
  async forget(nodeId: string): Promise<void> {
    try {
      await sql`delete from hub_nodes where id = ${nodeId}`.execute(this.db);
    } catch (err) {
      throw storeError(err);
    }
  }
}
