/**
 * The per-process CPU table of bench proxy-floor: one row per watched label,
 * one column per phase (CPU seconds, CPU ms per call of that phase, or CPU
 * ms per wall second for the idle phase), then the sums the RESULT reports.
 * Pure: it formats what cpu.ts's diff() measured.
 */
import { sumOf, type CpuRow } from "./cpu.js";

/** One phase's diff() and how its column shows it: `s` seconds, `ms/call` over `calls`, `ms/s` over the phase's wall time. */
export interface Column {
  title: string;
  d: { rows: CpuRow[]; wallSeconds: number; machine: { busy: number } };
  show: "s" | "ms/call" | "ms/s";
  calls?: number;
}

const cell = (c: Column, seconds: number | undefined): string => {
  if (seconds === undefined) return "";
  if (c.show === "s") return seconds.toFixed(2);
  if (c.show === "ms/s") return ((seconds * 1000) / c.d.wallSeconds).toFixed(1);
  return ((seconds * 1000) / (c.calls || 1)).toFixed(3);
};

const secondsOf = (c: Column, labels: string[]) => sumOf(c.d.rows, labels);

/**
 * The table's lines: a header, each label (sorted by `sortBy`'s seconds, most
 * first) with where it runs, each group as the sum of its labels, then the
 * machine's busy time.
 */
export function cpuTable(cols: Column[], groups: Array<{ name: string; labels: string[] }>, sortBy: Column): string[] {
  const where = new Map<string, string>();
  for (const c of cols) for (const r of c.d.rows) if (!where.has(r.label)) where.set(r.label, r.where);
  const by = new Map(sortBy.d.rows.map((r) => [r.label, r.seconds]));
  const labels = [...where.keys()].sort((a, b) => (by.get(b) ?? 0) - (by.get(a) ?? 0) || a.localeCompare(b));
  const w = Math.max(28, ...labels.map((l) => l.length), ...groups.map((g) => g.name.length));
  const line = (label: string, wh: string, cells: string[]) => `  ${label.padEnd(w)} ${wh.padEnd(11)}${cells.map((x, i) => ` ${x.padStart(Math.max(9, cols[i]!.title.length))}`).join("")}`;
  const out = [line("process", "where", cols.map((c) => c.title))];
  for (const l of labels) out.push(line(l, where.get(l)!, cols.map((c) => cell(c, c.d.rows.find((r) => r.label === l)?.seconds ?? 0))));
  for (const g of groups) out.push(line(g.name, "", cols.map((c) => cell(c, secondsOf(c, g.labels)))));
  out.push(line("machine busy (/proc/stat)", "all", cols.map((c) => cell(c, c.d.machine.busy))));
  return out;
}

/** CPU ms per call of `labels` in a ms/call column (or per second in an ms/s one). */
export function perCall(c: Column, labels: string[]): number {
  const s = secondsOf(c, labels);
  return c.show === "ms/s" ? (s * 1000) / c.d.wallSeconds : (s * 1000) / (c.calls || 1);
}
