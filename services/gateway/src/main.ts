import { createLogger, exitOnStartupError, initTracing, onShutdown } from "@daalu/runtime";
import { loadConfig } from "./config.js";
import { start } from "./service.js";

let logger;
try {
  const config = loadConfig(process.env);
  logger = createLogger("gateway", config.logLevel);
  initTracing({ serviceName: "gateway" });
  const gw = await start(config, logger);
  // Fastify closes first (in-flight requests finish), then NATS drains, then the pool.
  onShutdown(logger, config.drainTimeoutMs, () => [{ name: "gateway", close: () => gw.close() }]);
  logger.info({ url: gw.url, publicUrl: config.publicUrl }, "ready");
} catch (err) {
  exitOnStartupError(logger, err);
}
