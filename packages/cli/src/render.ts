/**
 * What the CLI prints: human tables by default, or the REST API's JSON as it
 * came (`--output json`, `--output yaml`) for scripts — the same shapes as
 * the gateway's OpenAPI document, so they stay stable. Colour only on a
 * terminal, never with `--no-color` or NO_COLOR.
 */
import pc from "picocolors";

/** `--output`: commander checks the choice. */
export type Format = "table" | "json" | "yaml";

let colors = pc.createColors(pc.isColorSupported);

/** Turns colour off (`--no-color`); NO_COLOR and a non-terminal already do. */
export function setColor(on: boolean): void {
  colors = pc.createColors(on && pc.isColorSupported);
}

export function color(): ReturnType<typeof pc.createColors> {
  return colors;
}

/** Prints `data` as JSON or YAML (machine-readable); false when the format is a table. */
export async function printData(format: Format, data: unknown): Promise<boolean> {
  if (format === "json") {
    process.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
    return true;
  }
  if (format === "yaml") {
    const { stringify } = await import("yaml");
    process.stdout.write(stringify(data));
    return true;
  }
  return false;
}

/** A table with a header row (no borders, like kubectl's). */
export async function printTable(head: string[], rows: string[][]): Promise<void> {
  const { default: Table } = await import("cli-table3");
  const t = new Table({
    head: head.map((h) => colors.bold(h)),
    style: { head: [], border: [], compact: true, "padding-left": 0, "padding-right": 2 },
    chars: { top: "", "top-mid": "", "top-left": "", "top-right": "", bottom: "", "bottom-mid": "", "bottom-left": "", "bottom-right": "", left: "", "left-mid": "", mid: "", "mid-mid": "", right: "", "right-mid": "", middle: "" },
  });
  t.push(...rows);
  process.stdout.write(`${t.toString().split("\n").map((l) => l.trimEnd()).join("\n")}\n`);
}

/** "name: value" lines, names aligned. */
export function printFields(fields: [string, string][]): void {
  const w = Math.max(...fields.map(([k]) => k.length));
  for (const [k, v] of fields) process.stdout.write(`${colors.bold(`${k}:`.padEnd(w + 1))} ${v}\n`);
}

/** "42 s ago", "5 min ago", "3 h ago", "2 d ago"; "never" for no time. */
export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return "never";
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return "unknown";
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 90) return `${s} s ago`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min ago`;
  if (s < 36 * 3600) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

/** A cluster status with its coloured dot (green connected, amber waiting, red down or failing). */
export function statusLabel(status: string): string {
  const c = colors;
  switch (status) {
    case "connected":
      return `${c.green("●")} connected`;
    case "awaiting_handshake":
    case "pending_enrollment":
      return `${c.yellow("●")} ${status.replace("_", " ")}`;
    case "disconnected":
    case "error":
      return `${c.red("●")} ${status}`;
    default:
      return `${c.dim("●")} ${status}`;
  }
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}
