/**
 * How the clusters list and the event stream meet (pure: unit-tested in
 * web/test). Events are applied by cluster id, so a replayed event never makes
 * a second row; a status older than the one shown is ignored; a deleted
 * cluster never comes back from a late event; and a list fetched while events
 * arrived keeps what those events said (the list may be older than them).
 */
import type { Cluster } from "./api.js";

export interface ClusterEvent {
  kind: "created" | "enrolled" | "key_replaced" | "deleted" | "status_changed" | (string & {});
  cluster: Cluster;
  time?: string;
}

/** What the merge remembers besides the rows: deleted ids, and ids events touched since the last list fetch began. */
export interface MergeMemory {
  deleted: Set<string>;
  touched: Set<string>;
}

/** b is at least as new as a (by statusSince; without one, b wins). */
export function isNewer(a: Cluster | undefined, b: Cluster): boolean {
  if (!a || !a.statusSince || !b.statusSince) return true;
  return Date.parse(b.statusSince) >= Date.parse(a.statusSince);
}

export function applyEvent(prev: Map<string, Cluster>, ev: ClusterEvent, mem: MergeMemory): Map<string, Cluster> {
  const c = ev.cluster;
  if (!c?.id) return prev;
  mem.touched.add(c.id);
  if (ev.kind === "deleted") {
    mem.deleted.add(c.id);
    if (!prev.has(c.id)) return prev;
    const next = new Map(prev);
    next.delete(c.id);
    return next;
  }
  if (mem.deleted.has(c.id) || !isNewer(prev.get(c.id), c)) return prev;
  return new Map(prev).set(c.id, { ...prev.get(c.id), ...c });
}

export function applyList(prev: Map<string, Cluster>, list: Cluster[], mem: MergeMemory): Map<string, Cluster> {
  const next = new Map<string, Cluster>();
  for (const c of list) {
    if (mem.deleted.has(c.id) && mem.touched.has(c.id)) continue;
    const seen = prev.get(c.id);
    next.set(c.id, seen && mem.touched.has(c.id) && !isNewer(seen, c) ? seen : c);
  }
  // Rows the events created while the list was on its way.
  for (const id of mem.touched) {
    const seen = prev.get(id);
    if (seen && !next.has(id) && !mem.deleted.has(id)) next.set(id, seen);
  }
  return next;
}
