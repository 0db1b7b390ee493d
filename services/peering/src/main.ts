/** The peering service's only entrypoint. */
import { createLogger, exitOnStartupError, initTracing, onShutdown } from "@daalu/runtime";
import { loadConfig } from "./config.js";
import { start } from "./service.js";

let logger: ReturnType<typeof createLogger> | undefined;
try {
  const config = loadConfig(process.env);
  logger = createLogger(config.serviceName, config.logLevel);
  initTracing({ serviceName: config.serviceName });
  const svc = await start(config, logger);
  onShutdown(logger, config.drainTimeoutMs, svc.closers);
  logger.info({ grpcPort: svc.grpcPort, subnetPool: config.subnetPool, hubEndpoint: config.hubEndpoint, hubPublicKey: svc.hub.publicKey }, "ready");
} catch (err) {
  exitOnStartupError(logger, err);
}
