/**
 * The tunnel-proxy's Prometheus metrics: calls through the tunnel by tenant
 * (count by result, latency, bytes each way), taken from the one audit
 * record every call publishes, so the call path itself carries no metrics
 * code. Each tenant's series are bound once and kept: a call costs a map
 * lookup, two increments, an observe and two adds, no label object.
 */
import type { AuditPublisher } from "@daalu/audit";
import type { auditv1 } from "@daalu/proto";
import { counter, gauge, histogram, type Counter, type Histogram } from "@daalu/runtime";

const calls = counter({ name: "daalu_proxy_calls_total", help: "Calls through the tunnel (kubectl, typed queries, targets) by tenant and result (ok: 2xx/3xx, failed: anything else)", labelNames: ["tenant", "result"] });
const latency = histogram({ name: "daalu_proxy_call_duration_seconds", help: "Time from a call's arrival to its last byte, by tenant (streams: their whole life)", labelNames: ["tenant"] });
const bytes = counter({ name: "daalu_proxy_bytes_total", help: "Bytes through the tunnel by tenant and direction (in: request bodies, out: answers)", labelNames: ["tenant", "direction"] });

interface TenantSeries {
  ok: Counter.Internal;
  failed: Counter.Internal;
  latency: Histogram.Internal<"tenant">;
  bytesIn: Counter.Internal;
  bytesOut: Counter.Internal;
}

const tenants = new Map<string, TenantSeries>();

function series(tenant: string): TenantSeries {
  let s = tenants.get(tenant);
  if (!s) {
    s = {
      ok: calls.labels(tenant, "ok"),
      failed: calls.labels(tenant, "failed"),
      latency: latency.labels(tenant),
      bytesIn: bytes.labels(tenant, "in"),
      bytesOut: bytes.labels(tenant, "out"),
    };
    tenants.set(tenant, s);
  }
  return s;
}

/** Counts one finished call from its audit record. */
export function observeCall(r: auditv1.CallRecord): void {
  const s = series(r.tenantId);
  (r.outcome?.ok ? s.ok : s.failed).inc();
  s.latency.observe(r.latencyMs / 1000);
  if (r.bytesIn > 0n) s.bytesIn.inc(Number(r.bytesIn));
  if (r.bytesOut > 0n) s.bytesOut.inc(Number(r.bytesOut));
}

/** `audit`, counting every record it is asked to publish (one per call). */
export function meteredAudit(audit: AuditPublisher): AuditPublisher {
  return {
    publish(record, opts) {
      observeCall(record);
      return audit.publish(record, opts);
    },
  };
}

const inflightSources = new Set<() => number>();

/** Reports calls in flight (open streams included) until the returned function is called. */
export function trackInflight(count: () => number): () => void {
  inflightSources.add(count);
  return () => void inflightSources.delete(count);
}

gauge({
  name: "daalu_proxy_calls_in_flight",
  help: "Calls through the tunnel being answered now (open watches and logs -f included)",
  collect() {
    let n = 0;
    for (const c of inflightSources) n += c();
    this.set(n);
  },
});
