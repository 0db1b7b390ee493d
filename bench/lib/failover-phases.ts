/**
 * Where one re-home's time goes (bench failover): each step's first log line
 * after the kill, read from the processes' own pino output, as ms since the
 * kill. The steps, in the order they must happen:
 *
 * - `edgeMoved`: the edge's silence rule fired and it moved to the next hub
 *   node (edge agent, "moving to the next hub node");
 * - `claimed`: the new node's peering saw the edge's handshake and won the
 *   claim (peering, "cluster homed on this node");
 * - `served`: the new node's tunnel-proxy subscribed the cluster's tunnel
 *   subjects (tunnel-proxy, "cluster homed here: serving its tunnel");
 * - `answered`: a call through the gateway was answered (the bench's own clock).
 *
 * A step not found in the logs is left out (e.g. a run with other log levels).
 */
import type { FailoverWorld, Load } from "../../e2e/failover-world.js";

export interface Phases {
  edgeMoved?: number;
  claimed?: number;
  served?: number;
  answered: number;
}

interface LogLine {
  time?: string;
  msg?: string;
  clusterId?: string;
}

/** The first line of `output` after `from` (epoch ms) with this message (and cluster, when given): its time − from. */
function firstAfter(output: string, from: number, msg: string, clusterId?: string): number | undefined {
  for (const raw of output.split("\n")) {
    if (!raw.includes(msg)) continue;
    let l: LogLine;
    try {
      l = JSON.parse(raw) as LogLine;
    } catch {
      continue;
    }
    const at = l.time ? Date.parse(l.time) : NaN;
    if (l.msg === msg && at >= from && (!clusterId || l.clusterId === clusterId)) return at - from;
  }
  return undefined;
}

/** The steps of one cluster's re-home onto `node` (index in w.nodeIds), from the kill at `from`. */
export function phases(w: FailoverWorld, clusterIndex: number, node: number, from: number, answered: number): Phases {
  const c = w.clusters[clusterIndex]!;
  const p: Phases = { answered };
  const edgeMoved = firstAfter(c.agent.output(), from, "moving to the next hub node");
  const claimed = firstAfter(w.hub.process("peering", node).output(), from, "cluster homed on this node", c.id);
  const served = firstAfter(w.hub.process("tunnel-proxy", node).output(), from, "cluster homed here: serving its tunnel", c.id);
  if (edgeMoved !== undefined) p.edgeMoved = edgeMoved;
  if (claimed !== undefined) p.claimed = claimed;
  if (served !== undefined) p.served = served;
  return p;
}

/** Median of each step over many re-homes (the steps found in all of them). */
export function medianPhases(all: readonly Phases[]): Record<string, number> {
  const keys = ["edgeMoved", "claimed", "served", "answered"] as const;
  const out: Record<string, number> = {};
  for (const k of keys) {
    const v = all.map((p) => p[k]).filter((x): x is number => x !== undefined);
    if (v.length === 0 || v.length < all.length) continue;
    v.sort((a, b) => a - b);
    out[k] = v[Math.floor((v.length - 1) / 2)]!;
  }
  return out;
}

/**
 * Why a re-home was slow after its new node served the tunnel (answered more than
 * 1 s after `served`): the load's calls to the cluster from `served` on, and the
 * new node's tunnel-proxy lines about it, as ms since the kill.
 */
export function slowTail(w: FailoverWorld, load: Load, clusterIndex: number, node: number, from: number, p: Phases): string | undefined {
  if (p.served === undefined || p.answered - p.served <= 1_000) return undefined;
  const c = w.clusters[clusterIndex]!;
  const since = from + p.served - 500;
  const calls = load.calls.filter((l) => l.clusterId === c.id && l.at >= since && l.at <= from + p.answered).map((l) => `+${l.at - from}:${l.status}(${l.ms} ms)`);
  const lines = w.hub
    .process("tunnel-proxy", node)
    .output()
    .split("\n")
    .filter((l) => l.includes(c.id) && !l.includes('"level":30'))
    .map((l) => {
      try {
        const j = JSON.parse(l) as LogLine & { err?: { message?: string }; reason?: string };
        const at = Date.parse(j.time ?? "") - from;
        return at >= p.served! - 500 && at <= p.answered ? `+${at}: ${j.msg ?? ""} ${j.reason ?? ""} ${j.err?.message ?? ""}` : undefined;
      } catch {
        return undefined;
      }
    })
    .filter(Boolean);
  return `cluster ${clusterIndex + 1}: calls ${calls.join(" ")}; tunnel-proxy: ${lines.slice(0, 8).join(" | ") || "nothing above info"}`;
}

