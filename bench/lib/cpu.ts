/**
 * CPU time per process over a bench phase, from /proc: utime + stime of each
 * watched process (all its threads) and the machine's busy time from
 * /proc/stat, so a report can say where the CPU of one call goes.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

/** One process to watch; `label` groups several pids (e.g. PostgreSQL backends). */
export interface Watched {
  label: string;
  where: string;
  pid: number;
}

let tick: number | undefined;
/** Seconds per clock tick (USER_HZ). */
function secondsPerTick(): number {
  tick ??= 1 / Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim() || 100);
  return tick;
}

/** utime + stime of `pid` in seconds, undefined once it is gone. */
export function processCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after "(comm)" (which may hold spaces): state is field 3, utime 14, stime 15.
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(rest[11]) + Number(rest[12])) * secondsPerTick();
  } catch {
    return undefined;
  }
}

/** The machine's CPU seconds from /proc/stat: busy (all but idle/iowait) and, of that, softirq. */
export function machineCpuSeconds(): { busy: number; softirq: number } {
  const [user, nice, system, , , irq, softirq, steal] = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number) as number[];
  return { busy: (user! + nice! + system! + irq! + softirq! + steal!) * secondsPerTick(), softirq: softirq! * secondsPerTick() };
}

/** Pids whose command line (argv joined by spaces) satisfies `match`. */
export function findPids(match: (cmdline: string) => boolean): number[] {
  const out: number[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, "utf8").split("\0").join(" ").trim();
      if (cmd && match(cmd)) out.push(Number(d));
    } catch {
      // gone
    }
  }
  return out;
}

export interface Sample {
  at: number;
  procs: Map<number, { w: Watched; cpu: number }>;
  machine: { busy: number; softirq: number };
}

export function sample(watched: Watched[]): Sample {
  const procs = new Map<number, { w: Watched; cpu: number }>();
  for (const w of watched) {
    const cpu = processCpuSeconds(w.pid);
    if (cpu !== undefined) procs.set(w.pid, { w, cpu });
  }
  return { at: performance.now(), procs, machine: machineCpuSeconds() };
}

export interface CpuRow {
  label: string;
  where: string;
  seconds: number;
}

/** CPU seconds of the rows whose label is one of `labels` (a HUB or EDGE sum). */
export const sumOf = (rows: CpuRow[], labels: string[]): number => rows.filter((r) => labels.includes(r.label)).reduce((a, r) => a + r.seconds, 0);

/**
 * CPU seconds per label between two samples. A pid first seen in `b` (e.g. a
 * PostgreSQL backend opened during the phase) counts whole; a pid gone by `b`
 * is lost (its last interval cannot be read).
 */
export function diff(a: Sample, b: Sample): { rows: CpuRow[]; wallSeconds: number; machine: { busy: number; softirq: number } } {
  const byLabel = new Map<string, CpuRow>();
  for (const [pid, { w, cpu }] of b.procs) {
    const row = byLabel.get(w.label) ?? { label: w.label, where: w.where, seconds: 0 };
    row.seconds += cpu - (a.procs.get(pid)?.cpu ?? 0);
    byLabel.set(w.label, row);
  }
  return {
    rows: [...byLabel.values()],
    wallSeconds: (b.at - a.at) / 1000,
    machine: { busy: b.machine.busy - a.machine.busy, softirq: b.machine.softirq - a.machine.softirq },
  };
}
