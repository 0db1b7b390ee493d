/**
 * How every service starts and stops, in one place: `runService(definition)`
 * is the whole of a service's main.ts. It reads the configuration (every
 * problem at once), makes the process's one logger, registers tracing (OTLP
 * when the OTEL_* variables say so), serves /metrics, /livez and /readyz when
 * DAALU_METRICS_LISTEN is set, starts the service, logs the readiness line
 * spawners wait for, and on SIGTERM or SIGINT closes what the service opened,
 * last opened first.
 */
import type { Logger } from "pino";
import type { CommonConfig } from "./config.js";
import { exitOnStartupError, onShutdown, type Closer } from "./lifecycle.js";
import { createLogger } from "./logger.js";
import { collectProcessMetrics } from "./metrics.js";
import { startOpsServer, type OpsServer } from "./ops-server.js";
import { initTracing, shutdownTracing } from "./tracing.js";

/** The message of the log line that says a service is serving (spawnProcess, devhub and e2e wait for it). */
export const READY_MSG = "ready";

/** A started service: what to close, in shutdown order, and a way to close it all. */
export interface Running {
  /** Shutdown order: the reverse of the order things were opened in. */
  readonly closers: Closer[];
  /** Runs every closer once, in order, each even if an earlier one failed. */
  stop(): Promise<void>;
}

/**
 * What a service opened while starting. Each `add` registers how to close one
 * thing as soon as it exists, so a start-up that fails half-way closes exactly
 * what it had opened, and a shutdown closes adapters (opened last) before the
 * connections they use (opened first).
 */
export class Resources {
  private readonly opened: Closer[] = [];
  private closing: Promise<void> | undefined;

  constructor(private readonly logger: Logger) {}

  add(name: string, close: () => unknown): void {
    this.opened.push({ name, close: async () => void (await close()) });
  }

  get closers(): Closer[] {
    return [...this.opened].reverse();
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const c of this.closers) {
        try {
          await c.close();
        } catch (err) {
          this.logger.warn({ err, closer: c.name }, "close failed");
        }
      }
    })();
    return this.closing;
  }
}

/**
 * Runs a service's start-up with a fresh {@link Resources}: when `build`
 * throws, everything it registered is closed (last first) and the error is
 * rethrown; otherwise its result gains `closers` and `stop()`.
 */
export async function assemble<T extends object>(logger: Logger, build: (res: Resources) => Promise<T>): Promise<T & Running> {
  const res = new Resources(logger);
  let built: T;
  try {
    built = await build(res);
  } catch (err) {
    await res.close();
    throw err;
  }
  return Object.assign(built, { closers: res.closers, stop: () => res.close() });
}

export interface ServiceDefinition<C extends CommonConfig, R extends Running> {
  /** The service's name: logger name, tracing resource. */
  name: string;
  /** The only reader of the environment; throws a ConfigError listing every problem. */
  loadConfig(env: Record<string, string | undefined>): C;
  /** Starts the service in this process (main.ts through runService, and in-process tests). */
  start(config: C, logger: Logger): Promise<R>;
  /** Fields of the readiness line (e.g. bound ports, the gateway's url). */
  readyFields?(running: R, config: C): Record<string, unknown>;
}

/** A service's whole main.ts: `await runService(definition)`. Exits 1 when start-up fails. */
export async function runService<C extends CommonConfig, R extends Running>(def: ServiceDefinition<C, R>, env: Record<string, string | undefined> = process.env): Promise<void> {
  let logger: Logger | undefined;
  try {
    const config = def.loadConfig(env);
    logger = createLogger(def.name, config.logLevel);
    const { telemetry } = config;
    initTracing({ serviceName: def.name, exporter: telemetry.tracesExporter, otlp: telemetry.otlp });
    collectProcessMetrics(def.name);
    // Before start(): the kubelet's liveness probe answers while the service starts.
    const ops: OpsServer | undefined = telemetry.metricsListen ? await startOpsServer(telemetry.metricsListen) : undefined;
    const running = await def.start(config, logger);
    onShutdown(logger, config.drainTimeoutMs, () => [
      // Not ready first, so a load balancer stops sending while in-flight work drains.
      { name: "readiness", close: async () => ops?.setReady(false) },
      ...running.closers,
      // Last: the spans of the drain itself are exported too.
      { name: "tracing", close: shutdownTracing },
      { name: "ops", close: async () => ops?.close() },
    ]);
    ops?.setReady(true);
    logger.info({ ...def.readyFields?.(running, config), ...(ops ? { metricsPort: ops.port } : {}) }, READY_MSG);
  } catch (err) {
    exitOnStartupError(logger, err);
  }
}
