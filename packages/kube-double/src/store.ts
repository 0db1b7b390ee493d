/**
 * The double's etcd: objects per resource, one global resourceVersion
 * counter, and an event history so a watch can start at any resourceVersion
 * a list returned (what `kubectl get -w` and `rollout status` do).
 */
import { randomUUID } from "node:crypto";
import { groupVersion, RESOURCES, type ResourceInfo } from "./resources.js";

export type KubeObject = Record<string, any> & { metadata: Record<string, any> };

export type EventType = "ADDED" | "MODIFIED" | "DELETED";

export interface StoreEvent {
  type: EventType;
  resource: ResourceInfo;
  object: KubeObject;
  /** The object before this change (MODIFIED/DELETED); lets a filtered watch turn a MODIFIED into ADDED/DELETED. */
  previous?: KubeObject;
  resourceVersion: number;
}

/** How many events a watch can be resumed across before it gets 410 Gone. */
export const DEFAULT_HISTORY_SIZE = 5000;

const clone = <T>(v: T): T => structuredClone(v);
const keyOf = (ns: string | undefined, name: string) => `${ns ?? ""}/${name}`;
const nowTimestamp = () => new Date().toISOString().replace(/\.\d+Z$/, "Z");

export class ObjectStore {
  private rv: number;
  private readonly objects = new Map<string, Map<string, KubeObject>>();
  private readonly history: StoreEvent[] = [];
  private readonly listeners = new Set<(e: StoreEvent) => void>();

  constructor(startResourceVersion = 1000, private readonly historySize = DEFAULT_HISTORY_SIZE) {
    this.rv = startResourceVersion;
    for (const r of RESOURCES) this.objects.set(r.plural, new Map());
  }

  /** The current (latest) resourceVersion, as lists report it. */
  get resourceVersion(): string {
    return String(this.rv);
  }

  /** The oldest resourceVersion a watch can still resume from. */
  get oldestResumableVersion(): number {
    return this.history.length ? this.history[0]!.resourceVersion - 1 : this.rv;
  }

  /** Resolve a kind (`Deployment`) or plural (`deployments`, `pods`) to its resource. */
  resolve(kindOrPlural: string): ResourceInfo {
    const r = RESOURCES.find((x) => x.kind === kindOrPlural || x.plural === kindOrPlural || x.singular === kindOrPlural.toLowerCase());
    if (!r) throw new Error(`kube-double: unknown resource ${kindOrPlural}`);
    return r;
  }

  private bucket(r: ResourceInfo): Map<string, KubeObject> {
    return this.objects.get(r.plural)!;
  }

  /**
   * Objects of a resource, sorted as etcd returns them (namespace, then name);
   * deep copies. `readOnly` returns the stored objects themselves: the store
   * never changes an object after storing it (put/load store a copy), so a
   * caller that only reads (serializes) them may skip the copy — the server's
   * list path does, since the copies cost more than the rest of a list.
   */
  list(kindOrPlural: string | ResourceInfo, namespace?: string, readOnly = false): KubeObject[] {
    const r = typeof kindOrPlural === "string" ? this.resolve(kindOrPlural) : kindOrPlural;
    const found = [...this.bucket(r).entries()]
      .filter(([, o]) => namespace === undefined || o.metadata["namespace"] === namespace)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return found.map(([, o]) => (readOnly ? (o as Readonly<KubeObject>) : clone(o)));
  }

  get(kindOrPlural: string | ResourceInfo, namespace: string | undefined, name: string): KubeObject | undefined {
    const r = typeof kindOrPlural === "string" ? this.resolve(kindOrPlural) : kindOrPlural;
    const o = this.bucket(r).get(keyOf(r.namespaced ? namespace : undefined, name));
    return o ? clone(o) : undefined;
  }

  /**
   * Insert or replace an object (test API and server writes). Fills
   * apiVersion/kind, uid, creationTimestamp on first insert, bumps
   * resourceVersion, and bumps generation when the spec changed.
   */
  put(obj: KubeObject, resource?: ResourceInfo): KubeObject {
    const r = resource ?? this.resolve(obj["kind"]);
    const o = clone(obj);
    o["apiVersion"] = groupVersion(r);
    o["kind"] = r.kind;
    const md = o.metadata;
    if (!md["name"]) throw new Error("kube-double: object without metadata.name");
    if (!r.namespaced) delete md["namespace"];
    else if (!md["namespace"]) md["namespace"] = "default";
    const key = keyOf(md["namespace"], md["name"]);
    const prev = this.bucket(r).get(key);
    if (prev) {
      md["uid"] = prev.metadata["uid"];
      md["creationTimestamp"] = prev.metadata["creationTimestamp"];
      if (prev.metadata["generation"] !== undefined) {
        const specChanged = JSON.stringify(prev["spec"]) !== JSON.stringify(o["spec"]);
        md["generation"] = (prev.metadata["generation"] as number) + (specChanged ? 1 : 0);
      }
    } else {
      md["uid"] ??= randomUUID();
      md["creationTimestamp"] ??= nowTimestamp();
      if (md["generation"] === undefined && (r.group === "apps")) md["generation"] = 1;
    }
    md["resourceVersion"] = String(++this.rv);
    this.bucket(r).set(key, o);
    this.emit({ type: prev ? "MODIFIED" : "ADDED", resource: r, object: clone(o), ...(prev ? { previous: clone(prev) } : {}), resourceVersion: this.rv });
    return clone(o);
  }

  /** Load an object exactly as given (fixtures): keeps its resourceVersion, emits no event. */
  load(obj: KubeObject): void {
    const r = this.resolve(obj["kind"]);
    const o = clone(obj);
    o["apiVersion"] = groupVersion(r);
    this.bucket(r).set(keyOf(r.namespaced ? o.metadata["namespace"] : undefined, o.metadata["name"]), o);
    const v = Number(o.metadata["resourceVersion"]);
    if (Number.isFinite(v) && v > this.rv) this.rv = v;
  }

  /** Change an object in place through a mutator; returns the stored result. */
  update(kindOrPlural: string, namespace: string | undefined, name: string, mutate: (o: KubeObject) => void): KubeObject {
    const r = this.resolve(kindOrPlural);
    const cur = this.get(r, namespace, name);
    if (!cur) throw new Error(`kube-double: ${r.plural} ${namespace ?? ""}/${name} not found`);
    mutate(cur);
    return this.put(cur, r);
  }

  /** Remove an object; returns it (with a fresh resourceVersion, as a DELETED event carries) or undefined. */
  delete(kindOrPlural: string | ResourceInfo, namespace: string | undefined, name: string): KubeObject | undefined {
    const r = typeof kindOrPlural === "string" ? this.resolve(kindOrPlural) : kindOrPlural;
    const key = keyOf(r.namespaced ? namespace : undefined, name);
    const prev = this.bucket(r).get(key);
    if (!prev) return undefined;
    this.bucket(r).delete(key);
    const o = clone(prev);
    o.metadata["resourceVersion"] = String(++this.rv);
    this.emit({ type: "DELETED", resource: r, object: clone(o), previous: clone(prev), resourceVersion: this.rv });
    return o;
  }

  /** Events after `resourceVersion` (exclusive) for one resource, or undefined if history no longer reaches back that far. */
  eventsSince(r: ResourceInfo, resourceVersion: number): StoreEvent[] | undefined {
    if (resourceVersion < this.oldestResumableVersion) return undefined;
    return this.history.filter((e) => e.resource === r && e.resourceVersion > resourceVersion);
  }

  subscribe(fn: (e: StoreEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private emit(e: StoreEvent): void {
    this.history.push(e);
    if (this.history.length > this.historySize) this.history.splice(0, this.history.length - this.historySize);
    for (const l of [...this.listeners]) l(e);
  }
}
