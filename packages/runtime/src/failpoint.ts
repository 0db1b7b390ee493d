/**
 * Failpoints for fault-injection tests (as etcd's gofail): a named point in a
 * flow where a test can make the process die abruptly, to prove the flow
 * leaves no half-state. Enabled only by DAALU_FAILPOINTS, read by config.
 */
export class Failpoints {
  constructor(private readonly enabled: readonly string[]) {}

  /** Kills the process (SIGKILL: no cleanup, like a crash) if `name` is enabled. */
  hit(name: string): void {
    if (this.enabled.includes(name)) process.kill(process.pid, "SIGKILL");
  }
}
