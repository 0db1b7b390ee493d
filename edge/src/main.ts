/**
 * The edge agent: one program, two modes.
 *   edge bootstrap   the chart's Job: key pair + token → tunnel Secret, then exit
 *   edge run         the Deployment: keep the tunnel up, serve EdgeService on it
 * Exit codes of `bootstrap` are listed in errors.ts (ExitCode) and edge/README.md.
 */
import { ConfigError, createLogger, initTracing, onShutdown, shutdownTracing, type Logger } from "@daalu/runtime";
import { KubeAccess } from "./adapters/kube.js";
import { startProbeServer } from "./adapters/probes.js";
import { EdgeAgent } from "./agent.js";
import { bootstrap } from "./bootstrap.js";
import { loadConfig, type BootstrapConfig, type RunConfig } from "./config.js";
import { EdgeError, ExitCode } from "./errors.js";
import { EDGE_VERSION } from "./version.js";

function exit(logger: Logger, code: number): never {
  logger.flush?.();
  process.exit(code);
}

async function runBootstrap(cfg: BootstrapConfig, logger: Logger): Promise<never> {
  try {
    const store = await KubeAccess.open(cfg.kube);
    await bootstrap(cfg, logger, { store });
    exit(logger, ExitCode.Ok);
  } catch (err) {
    if (err instanceof EdgeError) {
      // The message is the operator's answer (the hub's own words for a refused token).
      logger.error({ reason: err.reason, exitCode: err.exitCode }, err.message);
      exit(logger, err.exitCode);
    }
    logger.error({ err }, "bootstrap failed unexpectedly");
    exit(logger, ExitCode.Internal);
  }
}

async function runAgent(cfg: RunConfig, logger: Logger): Promise<void> {
  const kube = await KubeAccess.open(cfg.kube, logger);
  const agent = new EdgeAgent(cfg, logger, { kube });
  const probes = await startProbeServer(cfg.probeHost, cfg.probePort, () => agent.readiness());
  onShutdown(logger, cfg.drainTimeoutMs, () => [
    { name: "agent", close: () => agent.stop() },
    { name: "probes", close: () => probes.close() },
    { name: "tracing", close: shutdownTracing },
  ]);
  agent.start();
  await agent.whenUp();
  logger.info({ iface: cfg.wgInterface, grpcPort: agent.grpcPort, probes: `${cfg.probeHost}:${probes.port}` }, "ready");
}

async function main(): Promise<void> {
  const mode = process.argv[2];
  let cfg;
  try {
    cfg = loadConfig(mode, process.env);
  } catch (err) {
    process.stderr.write(`${err instanceof ConfigError ? err.message : String(err)}\n`);
    process.exit(ExitCode.Config);
  }
  const logger = createLogger("edge", cfg.logLevel).child({ mode: cfg.mode });
  initTracing({ serviceName: "daalu-edge", exporter: cfg.telemetry.tracesExporter, otlp: cfg.telemetry.otlp });
  logger.info({ version: cfg.mode === "run" ? cfg.version : EDGE_VERSION }, "starting");
  if (cfg.mode === "bootstrap") await runBootstrap(cfg, logger);
  else {
    try {
      await runAgent(cfg, logger);
    } catch (err) {
      logger.fatal({ err }, "start-up failed");
      exit(logger, ExitCode.Internal);
    }
  }
}

void main();
