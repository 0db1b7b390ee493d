/**
 * One drift check of one cluster: the latest desired state, read through the
 * tunnel one list per (apiVersion, kind, namespace) — a GET per object only
 * when the list is Forbidden — with at most `readsPerCluster` reads in flight,
 * each object judged (domain/detect.ts), the report stored and the episode's
 * event published. Reconciliation off: refused before any read.
 */
import type { Logger } from "@daalu/runtime";
import type { DesiredObject } from "./domain/bundle.js";
import { groupObjects, judge, statusMessage, summarize, unreadable, type IgnoreRule, type ObjectResult, type ReadGroup } from "./domain/detect.js";
import { getPath, listPath } from "./domain/resources.js";
import type { DriftEvents } from "./adapters/nats/events.js";
import type { TunnelRead } from "./adapters/nats/tunnel-reader.js";
import type { BundleStore } from "./adapters/pg/store.js";
import type { ReconciliationStore, Report, Trigger } from "./adapters/pg/reconciliation-store.js";
import { DesiredStateNotFoundError, ReconciliationOffError } from "./errors.js";

export interface DetectorDeps {
  bundles: BundleStore;
  store: ReconciliationStore;
  read: TunnelRead;
  events: DriftEvents;
  /** Reads in flight per cluster. */
  readsPerCluster: number;
  /** Items per list page. */
  listPageSize: number;
  clock: () => number;
  logger: Logger;
}

const isMap = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

/** A counting semaphore: at most `n` holders. */
function limiter(n: number): <T>(f: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: Array<() => void> = [];
  return async (f) => {
    if (active >= n) await new Promise<void>((r) => waiting.push(r));
    else active++;
    try {
      return await f();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else active--;
    }
  };
}

export class Detector {
  /** Checks in flight, by tenant/cluster: a second request for the same cluster joins the first. */
  private readonly running = new Map<string, Promise<Report>>();

  constructor(private readonly d: DetectorDeps) {}

  check(tenantId: string, clusterId: string, trigger: Trigger): Promise<Report> {
    const key = `${tenantId}/${clusterId}`;
    const inFlight = this.running.get(key);
    if (inFlight) return inFlight;
    const p = this.run(tenantId, clusterId, trigger).finally(() => this.running.delete(key));
    this.running.set(key, p);
    return p;
  }

  private async run(tenantId: string, clusterId: string, trigger: Trigger): Promise<Report> {
    const settings = await this.d.store.settings(tenantId, clusterId);
    if (!settings.enabled) throw new ReconciliationOffError(clusterId);
    const desired = await this.d.bundles.objects(tenantId, clusterId);
    if (!desired) throw new DesiredStateNotFoundError(clusterId);
    const startedAt = new Date(this.d.clock());
    const limit = limiter(this.d.readsPerCluster);
    let reads = 0;
    const read = (path: string) =>
      limit(() => {
        reads++;
        return this.d.read(tenantId, clusterId, path);
      });
    const groups = groupObjects(desired.objects);
    const perGroup = await Promise.all(groups.map((g) => this.checkGroup(g, settings.ignore, read)));
    // Results in the order of the upload.
    const byObject = new Map<DesiredObject, ObjectResult>();
    groups.forEach((g, i) => g.objects.forEach((o, j) => byObject.set(o, perGroup[i]![j]!)));
    const objects = desired.objects.map((o) => byObject.get(o)!);
    const summary = summarize(objects);
    const { report, event } = await this.d.store.saveReport(tenantId, { clusterId, bundleVersion: desired.version, trigger, startedAt, finishedAt: new Date(this.d.clock()), summary, reads, objects });
    this.d.logger.info({ tenantId, clusterId, trigger, bundleVersion: desired.version, ...summary, reads, event }, "drift checked");
    if (event) this.d.events.publish(tenantId, report, event);
    return report;
  }

  /** One group's results, in the group's order. */
  private async checkGroup(g: ReadGroup, ignore: IgnoreRule[], read: (path: string) => Promise<{ status: number; body: string }>): Promise<ObjectResult[]> {
    let listed: Map<string, Record<string, unknown>>;
    try {
      const r = await this.list(g, read);
      if (!r.ok && r.status === 403) return Promise.all(g.objects.map((o) => this.getOne(g, o, ignore, read)));
      if (!r.ok) return g.objects.map((o) => unreadable(g, o, r.status, r.message));
      listed = r.items;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      return g.objects.map((o) => unreadable(g, o, 0, message));
    }
    return g.objects.map((o) => judge(g, o, listed.get(o.name), ignore));
  }

  /** Every item of the group's collection by name (following `continue`), or the failed page's status. */
  private async list(g: ReadGroup, read: (path: string) => Promise<{ status: number; body: string }>): Promise<{ ok: true; items: Map<string, Record<string, unknown>> } | { ok: false; status: number; message: string }> {
    const items = new Map<string, Record<string, unknown>>();
    let token = "";
    do {
      const path = `${listPath(g.ref, g.namespace)}?limit=${this.d.listPageSize}${token ? `&continue=${encodeURIComponent(token)}` : ""}`;
      const r = await read(path);
      if (r.status !== 200) return { ok: false, status: r.status, message: statusMessage(r.status, r.body) };
      const list = JSON.parse(r.body) as { items?: unknown[]; metadata?: { continue?: string } };
      for (const item of list.items ?? []) {
        if (!isMap(item)) continue;
        const name = isMap(item["metadata"]) ? item["metadata"]["name"] : undefined;
        // List items carry no apiVersion or kind of their own.
        if (typeof name === "string") items.set(name, { apiVersion: g.apiVersion, kind: g.kind, ...item });
      }
      token = list.metadata?.continue ?? "";
    } while (token);
    return { ok: true, items };
  }

  private async getOne(g: ReadGroup, o: DesiredObject, ignore: IgnoreRule[], read: (path: string) => Promise<{ status: number; body: string }>): Promise<ObjectResult> {
    try {
      const r = await read(getPath(g.ref, g.namespace, o.name));
      if (r.status === 404) return judge(g, o, undefined, ignore);
      if (r.status !== 200) return unreadable(g, o, r.status, statusMessage(r.status, r.body));
      return judge(g, o, JSON.parse(r.body) as Record<string, unknown>, ignore);
    } catch (err) {
      return unreadable(g, o, 0, err instanceof Error ? err.message : String(err));
    }
  }
}
