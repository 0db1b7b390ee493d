import type { Logger } from "pino";

/** Something to stop on shutdown, in order. */
export interface Closer {
  name: string;
  close(): Promise<void>;
}

/**
 * Installs SIGTERM/SIGINT handlers that close `closers` in order (adapters
 * first so in-flight requests finish, then connections), bounded by `timeoutMs`.
 */
export function onShutdown(logger: Logger, timeoutMs: number, closers: () => Closer[]): void {
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "draining");
    const timer = setTimeout(() => {
      logger.error({ timeoutMs }, "drain timed out; exiting");
      process.exit(1);
    }, timeoutMs);
    timer.unref();
    for (const c of closers()) {
      try {
        await c.close();
      } catch (err) {
        logger.warn({ err, closer: c.name }, "close failed");
      }
    }
    logger.info("stopped");
    logger.flush?.();
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
}

/** Logs a fatal start-up error (e.g. ConfigError) and exits non-zero. */
export function exitOnStartupError(logger: Logger | undefined, err: unknown): never {
  if (logger) logger.fatal({ err }, "start-up failed");
  else process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
