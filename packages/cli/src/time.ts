import { CliError, EXIT } from "./exit.js";

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "90s", "10m", "1h", "7d", "500ms" (a bare number is seconds) → milliseconds. */
export function parseDuration(flag: string, v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(v.trim());
  if (!m) throw new CliError(`${flag} must be a duration like 30s, 10m, 1h or 7d, got "${v}"`, EXIT.usage);
  return Math.round(Number(m[1]) * UNIT_MS[m[2] ?? "s"]!);
}

/** `--since`: a duration back from now ("1h", "7d") or an RFC 3339 time with a zone. */
export function parseSince(v: string, now = Date.now()): Date {
  if (/^\d{4}-\d{2}-\d{2}T/.test(v)) {
    const d = new Date(v);
    if (Number.isNaN(d.getTime()) || !/(Z|[+-]\d{2}:\d{2})$/i.test(v)) throw new CliError(`--since must be a duration (1h, 7d) or an RFC 3339 time with a zone, got "${v}"`, EXIT.usage);
    return d;
  }
  return new Date(now - parseDuration("--since", v));
}
