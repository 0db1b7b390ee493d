/**
 * The hot enrollment statements as SQL text with `$n` placeholders, and the
 * runner that sends them as named prepared statements.
 */
import { sql, type PgPool } from "@daalu/runtime";
import { CompiledQuery, type Kysely, type RawBuilder } from "kysely";
import type { ClusterRow } from "./rows.js";
import type { PeeringDb } from "./schema.js";

/**
 * CTEs `occupied` and `cand`: the lowest free host address from `first` to
 * `last` (inet /32 expressions), the hub's address excluded, as one gap search
 * over the addresses primary key. `when` false: no candidate at all.
 */
export function lowestFreeCtes(first: RawBuilder<unknown>, last: RawBuilder<unknown>, hub: RawBuilder<unknown>, when: RawBuilder<unknown> = sql`true`): RawBuilder<unknown> {
  return sql`occupied as materialized (
        select a.ip from addresses a where ${when} and a.ip >= ${first} and a.ip <= ${last}
        union all
        select ${hub} where ${hub} between ${first} and ${last}
      ),
      cand as (
        select x.ip from (
          select ${first} as ip where ${when} and not exists (select 1 from occupied o where o.ip = ${first})
          union all
          select g.ip + 1 from (select ip, lead(ip) over (order by ip) as next_ip from occupied) g
          where g.ip < ${last} and (g.next_ip is null or g.next_ip <> g.ip + 1)
        ) x
        order by x.ip limit 1
      )`;
}

/** A `$n` placeholder in a hot statement's text (see PreparedStatements). */
const param = (n: number, cast = ""): RawBuilder<unknown> => sql.raw(`$${n}${cast}`);

/**
 * The reservation as one statement ($1 cluster id, $2 enrollment id, $3
 * public key, $4 tenant when `tenantScoped`): lock the cluster row only if
 * decideReserve would say "reserve" (nothing pending, not this enrollment's
 * replay, the enrollment id never committed, the key nobody else's),
 * keep its address or insert the lowest free one, mark it pending only when
 * it has an address. See EnrollmentStore.reserveFast.
 */
export function reserveStatement(tenantScoped: boolean) {
  const clusterId = param(1, "::uuid");
  const enrollmentId = param(2, "::text");
  const publicKey = param(3, "::text");
  const tenantFilter = tenantScoped ? sql`and c.tenant_id = ${param(4, "::text")}` : sql``;
  return sql<{ found: boolean; candidate: boolean; cidr: string | null; hub_ip: string | null; id: string | null; tenant_id: string | null; name: string | null; tunnel_ip: string | null }>`
      with c as (
        select c.id, c.tenant_id from clusters c
        where c.id = ${clusterId} ${tenantFilter}
          and c.pending_enrollment_id is null
          and c.last_enrollment_id is distinct from ${enrollmentId}
          and not exists (select 1 from enrollments e where e.enrollment_id = ${enrollmentId})
          and not exists (select 1 from clusters o where o.id <> ${clusterId} and (o.public_key = ${publicKey} or o.pending_public_key = ${publicKey}))
        for no key update of c
      ),
      s as (
        select t.tenant_id, t.cidr, t.hub_ip, host(t.cidr)::inet + 1 as first, host(broadcast(t.cidr))::inet - 1 as last
        from tenant_subnets t where t.tenant_id = (select tenant_id from c)
      ),
      cur as (select a.ip from addresses a where a.cluster_id = (select id from c)),
      ${lowestFreeCtes(sql`(select first from s)`, sql`(select last from s)`, sql`(select host(hub_ip)::inet from s)`, sql`not exists (select 1 from cur)`)},
      ins as (
        insert into addresses (ip, tenant_id, cluster_id)
        select cand.ip, c.tenant_id, c.id from cand, c
        on conflict do nothing
        returning ip
      ),
      upd as (
        update clusters set pending_enrollment_id = ${enrollmentId}, pending_public_key = ${publicKey},
          pending_new_address = not exists (select 1 from cur), pending_since = now(), recovery_claimed_at = null
        where id = (select id from c) and (exists (select 1 from cur) or exists (select 1 from ins))
        returning id, tenant_id, name
      )
      select exists (select 1 from c) as found, exists (select 1 from cand) as candidate,
        (select s.cidr::text from s) as cidr, (select host(s.hub_ip) from s) as hub_ip,
        u.id, u.tenant_id, u.name, host(coalesce((select ip from cur), (select ip from ins))) as tunnel_ip
      from (select 1) one left join upd u on true`;
}

/**
 * The commit of a reservation pending under the enrollment as one statement
 * ($1 cluster id, $2 enrollment id, $3 tenant when `tenantScoped`). See
 * EnrollmentStore.commitFast.
 */
export function commitStatement(tenantScoped: boolean) {
  const clusterId = param(1, "::uuid");
  const enrollmentId = param(2, "::text");
  const tenantFilter = tenantScoped ? sql`and c.tenant_id = ${param(3, "::text")}` : sql``;
  return sql<ClusterRow & { previous_public_key: string | null; cidr: string; hub_ip: string }>`
      with c as (
        select c.id, c.public_key as previous_public_key from clusters c
        where c.id = ${clusterId} ${tenantFilter} and c.pending_enrollment_id = ${enrollmentId}
        for no key update of c
      ),
      upd as (
        update clusters set public_key = pending_public_key, status = 'awaiting_handshake', status_since = now(), last_handshake = null,
          api_reachable = false, diagnostic = '', enrolled_at = now(), last_enrollment_id = ${enrollmentId},
          pending_enrollment_id = null, pending_public_key = null, pending_new_address = false, pending_since = null,
          recovery_claimed_at = null
        where id = (select id from c)
        returning *
      ),
      ins as (
        insert into enrollments (enrollment_id, cluster_id, public_key) select ${enrollmentId}, id, public_key from upd returning cluster_id
      )
      select u.*, (select previous_public_key from c) as previous_public_key, host(a.ip) as tunnel_ip, t.cidr::text as cidr, host(t.hub_ip) as hub_ip
      from upd u join ins on ins.cluster_id = u.id join tenant_subnets t on t.tenant_id = u.tenant_id left join addresses a on a.cluster_id = u.id`;
}

/**
 * The commit statement for several enrollments ($1 cluster ids, $2 enrollment
 * ids, $3 tenants, null for internal callers): the same change as
 * {@link commitStatement} for each row pending under its enrollment. Rows are
 * locked in id order, so two batches never wait on each other in a cycle.
 */
export function commitBatchStatement() {
  return sql<ClusterRow & { previous_public_key: string | null; cidr: string; hub_ip: string }>`
      with req as (
        select * from unnest(${param(1, "::uuid[]")}, ${param(2, "::text[]")}, ${param(3, "::text[]")}) as r(cluster_id, enrollment_id, tenant_id)
      ),
      c as (
        select c.id, c.public_key as previous_public_key, r.enrollment_id from clusters c join req r on c.id = r.cluster_id
        where c.pending_enrollment_id = r.enrollment_id and (r.tenant_id is null or c.tenant_id = r.tenant_id)
        order by c.id
        for no key update of c
      ),
      upd as (
        update clusters u set public_key = u.pending_public_key, status = 'awaiting_handshake', status_since = now(), last_handshake = null,
          api_reachable = false, diagnostic = '', enrolled_at = now(), last_enrollment_id = c.enrollment_id,
          pending_enrollment_id = null, pending_public_key = null, pending_new_address = false, pending_since = null,
          recovery_claimed_at = null
        from c where u.id = c.id
        returning u.*
      ),
      ins as (
        insert into enrollments (enrollment_id, cluster_id, public_key) select last_enrollment_id, id, public_key from upd returning cluster_id
      )
      select u.*, c.previous_public_key, host(a.ip) as tunnel_ip, t.cidr::text as cidr, host(t.hub_ip) as hub_ip
      from upd u join c on c.id = u.id join ins on ins.cluster_id = u.id join tenant_subnets t on t.tenant_id = u.tenant_id left join addresses a on a.cluster_id = u.id`;
}

/**
 * Runs a hot statement as the prepared statement `name` when the pool is at
 * hand. `build` writes its values as `$n` placeholders ({@link param}) and is
 * compiled once per name: building and compiling kysely's tree on every call
 * cost more JavaScript than the rest of the call.
 */
export class PreparedStatements {
  private readonly texts = new Map<string, string>();

  constructor(
    private readonly db: Kysely<PeeringDb>,
    private readonly pgPool: PgPool | undefined,
  ) {}

  async run<R>(name: string, build: () => RawBuilder<R>, values: unknown[]): Promise<R[]> {
    let text = this.texts.get(name);
    if (text === undefined) {
      const c = build().compile(this.db);
      if (c.parameters.length > 0) throw new Error(`statement ${name} must take its values as $n placeholders`);
      text = c.sql;
      this.texts.set(name, text);
    }
    if (!this.pgPool) return (await this.db.executeQuery(CompiledQuery.raw(text, values))).rows as R[];
    return (await this.pgPool.query({ name, text, values })).rows as R[];
  }
}
