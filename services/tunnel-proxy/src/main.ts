import { createLogger, exitOnStartupError, initTracing, onShutdown, type Logger } from "@daalu/runtime";
import { SERVICE_NAME, loadConfig } from "./config.js";
import { start } from "./service.js";

/** The tunnel-proxy's only entrypoint. */
let logger: Logger | undefined;
try {
  const config = loadConfig(process.env);
  logger = createLogger(SERVICE_NAME, config.logLevel);
  initTracing({ serviceName: SERVICE_NAME });
  const running = await start(config, logger);
  onShutdown(logger, config.drainTimeoutMs, () => running.closers);
  logger.info({ edgePort: config.edgePort, overrides: Object.keys(config.edgeAddrOverride).length }, "ready");
} catch (err) {
  exitOnStartupError(logger, err);
}
