/**
 * Config parsing helpers for each service's `loadConfig(env)`. Every problem is
 * collected and reported at once (headscale's validator), before any
 * connection opens.
 */

import { readTelemetry, type TelemetryConfig } from "./telemetry-config.js";

export class ConfigError extends Error {
  override name = "ConfigError";
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join("\n  - ")}`);
  }
}

type Env = Record<string, string | undefined>;

/** Reads prefixed variables, recording problems instead of throwing one at a time. */
export class EnvReader {
  readonly problems: string[] = [];
  constructor(private readonly env: Env) {}

  private raw(name: string): string | undefined {
    const v = this.env[name];
    return v === undefined || v.trim() === "" ? undefined : v.trim();
  }

  /** A string; `undefined` default makes it required. */
  str(name: string, def?: string): string {
    const v = this.raw(name);
    if (v !== undefined) return v;
    if (def === undefined) {
      this.problems.push(`${name} is required`);
      return "";
    }
    return def;
  }

  /** An optional string (no default). */
  optional(name: string): string | undefined {
    return this.raw(name);
  }

  int(name: string, def: number, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): number {
    const v = this.raw(name);
    if (v === undefined) return def;
    if (!/^-?\d+$/.test(v)) {
      this.problems.push(`${name} must be an integer, got "${v}"`);
      return def;
    }
    const n = Number(v);
    if (n < min || n > max) {
      this.problems.push(`${name} must be between ${min} and ${max}, got ${n}`);
      return def;
    }
    return n;
  }

  bool(name: string, def: boolean): boolean {
    const v = this.raw(name);
    if (v === undefined) return def;
    if (["1", "true", "yes", "on"].includes(v.toLowerCase())) return true;
    if (["0", "false", "no", "off"].includes(v.toLowerCase())) return false;
    this.problems.push(`${name} must be a boolean (true/false), got "${v}"`);
    return def;
  }

  /** A duration: plain milliseconds or a number with ms/s/m/h. Returns milliseconds. */
  duration(name: string, defMs: number): number {
    const v = this.raw(name);
    if (v === undefined) return defMs;
    const ms = parseDuration(v);
    if (ms === undefined) {
      this.problems.push(`${name} must be a duration like 500ms, 30s, 5m or 1h, got "${v}"`);
      return defMs;
    }
    return ms;
  }

  url(name: string, def?: string): string {
    const v = this.str(name, def);
    if (v === "") return v;
    try {
      new URL(v);
    } catch {
      this.problems.push(`${name} must be a URL, got "${v}"`);
    }
    return v;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], def: T): T {
    const v = this.raw(name);
    if (v === undefined) return def;
    if (!(allowed as readonly string[]).includes(v)) {
      this.problems.push(`${name} must be one of ${allowed.join(", ")}, got "${v}"`);
      return def;
    }
    return v as T;
  }

  /**
   * A `host:port` address (see {@link parseHostPort}); `def` as for str().
   * `off: true` also accepts "off" and returns undefined for it (a listener
   * that is disabled); `portZero: false` refuses port 0 (an address to dial or
   * advertise, not to bind).
   */
  hostPort(name: string, def: string, opts: { off: true; portZero?: boolean }): string | undefined;
  hostPort(name: string, def?: string, opts?: { off?: false; portZero?: boolean }): string;
  hostPort(name: string, def?: string, opts: { off?: boolean; portZero?: boolean } = {}): string | undefined {
    const v = this.str(name, def);
    if (opts.off && v === "off") return undefined;
    if (v === "" && def === undefined) return v; // already reported as required
    const hp = parseHostPort(v);
    if (!hp || (opts.portZero === false && hp.port === 0)) {
      const what = `host:port${opts.portZero === false ? " with a port from 1 to 65535" : ""}${opts.off ? ' or "off"' : ""}`;
      this.problems.push(`${name} must be ${what}, got "${v}"`);
    }
    return v;
  }

  /** Adds a cross-field problem. */
  check(ok: boolean, problem: string): void {
    if (!ok) this.problems.push(problem);
  }

  /** Throws a ConfigError listing every problem, if any. */
  done(): void {
    if (this.problems.length > 0) throw new ConfigError(this.problems);
  }
}

/**
 * The one `host:port` rule of every service: a host name or IPv4 address (no
 * spaces, no colon) or an IPv6 address in brackets, then a port 0..65535.
 * Returns the host without brackets, or undefined when `v` is not host:port.
 */
export function parseHostPort(v: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^\s:[\]]+)):(\d{1,5})$/.exec(v);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port > 65_535) return undefined;
  return { host: m[1] ?? m[2]!, port };
}

/** host:port for a host, with IPv6 addresses in brackets. */
export function formatHostPort(host: string, port: number): string {
  return `${host.includes(":") ? `[${host}]` : host}:${port}`;
}

export function parseDuration(v: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(v.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = m[2] ?? "ms";
  const mult = unit === "ms" ? 1 : unit === "s" ? 1000 : unit === "m" ? 60_000 : 3_600_000;
  return Math.round(n * mult);
}

/** Settings every service shares (read by each service's loadConfig). */
export interface CommonConfig {
  serviceName: string;
  natsUrl: string;
  /** Prefix before every subject and stream name; lets tests and environments share one NATS. */
  natsPrefix: string;
  logLevel: string;
  /** Max time SIGTERM waits for in-flight work. */
  drainTimeoutMs: number;
  /** Comma-separated failpoints for fault-injection tests (DAALU_FAILPOINTS). */
  failpoints: string[];
  /** Metrics listener and trace export (DAALU_METRICS_LISTEN, OTEL_*). */
  telemetry: TelemetryConfig;
}

export const DEFAULT_NATS_URL = "nats://127.0.0.1:4222";
export const DEFAULT_DRAIN_TIMEOUT_MS = 10_000;

export function readCommon(r: EnvReader, env: Env, serviceName: string): CommonConfig {
  const prefix = r.str("DAALU_NATS_PREFIX", "");
  r.check(prefix === "" || /^[A-Za-z0-9_-]+$/.test(prefix), `DAALU_NATS_PREFIX must be a single subject token ([A-Za-z0-9_-]), got "${prefix}"`);
  return {
    serviceName,
    natsUrl: r.str("NATS_URL", DEFAULT_NATS_URL),
    natsPrefix: prefix,
    logLevel: r.oneOf("LOG_LEVEL", ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const, "info"),
    drainTimeoutMs: r.duration("DAALU_DRAIN_TIMEOUT", DEFAULT_DRAIN_TIMEOUT_MS),
    failpoints: (env["DAALU_FAILPOINTS"] ?? "").split(",").map((s) => s.trim()).filter(Boolean),
    telemetry: readTelemetry(r),
  };
}
