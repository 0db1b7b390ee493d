import { serviceEntry, spawnedLogLevel, spawnProcess, type SpawnedProcess, type SpawnOptions } from "@daalu/runtime";

/** A service running as its own process (as in production), for kill/restart tests. */
export type ServiceProcess = SpawnedProcess;

/**
 * Spawns `services/<name>/src/main.ts` (or any entry relative to the repo root)
 * with tsx. Readiness is the JSON log line with `"msg":"ready"`. Its output is
 * only kept (see output()), never printed, so info, which the readiness line
 * needs, adds no noise. `opts` as for spawnProcess (e.g. `netns`).
 */
export function spawnService(entry: string, env: Record<string, string>, opts: Partial<SpawnOptions> = {}): ServiceProcess {
  return spawnProcess({ name: entry, entry: serviceEntry(entry), ...opts, env: { ...env, LOG_LEVEL: spawnedLogLevel(env["LOG_LEVEL"]) } });
}
