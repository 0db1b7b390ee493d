/**
 * Where wireguard-go's output goes: a file beside its UAPI socket, not a pipe to this process.
 *
 * Why: wireguard-go outlives the process that started it (a restarted hub takes the running device over, see
 * openDevice). Go kills a program that writes to a broken pipe on fd 1 or 2 with SIGPIPE, so with a pipe the
 * orphaned daemon died at its first log line after its parent did — e.g. "Failed to send handshake initiation: no
 * known endpoint" when a batched set turned keepalive on for peers without an endpoint — dropping every tunnel and
 * resetting the UAPI connection mid-set (ECONNRESET). A file never breaks; whoever owns the device follows it.
 */
import { closeSync, mkdirSync, openSync, readSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

/** `/var/run/wireguard/wg0.sock` → `/var/run/wireguard/wg0.log`. */
export function daemonLogPath(socket: string): string {
  return `${socket.replace(/\.sock$/, "")}.log`;
}

/**
 * Bytes the file may hold before its follower, having read them all, empties it. The daemon writes with O_APPEND,
 * so its next line lands at the new end (0) rather than at its old offset behind a hole. A line written between the
 * last read and the truncation is lost: the price of never growing without bound (a hub's wireguard-go can log a
 * line per peer and keepalive for peers that have no endpoint).
 */
export const DAEMON_LOG_MAX_BYTES = 4 * 1024 * 1024;

export class DaemonLog {
  private offset = 0;
  private partial = "";
  private timer: NodeJS.Timeout | undefined;
  private readonly buf = Buffer.alloc(16 * 1024);

  private constructor(
    readonly path: string,
    private readonly maxBytes: number,
  ) {}

  /** A new, empty log and the descriptor (append-only) to hand the child as stdout and stderr (closed by the caller once spawned). */
  static create(path: string, maxBytes = DAEMON_LOG_MAX_BYTES): { log: DaemonLog; fd: number } {
    mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
    writeFileSync(path, "", { mode: 0o600 });
    return { log: new DaemonLog(path, maxBytes), fd: openSync(path, "a", 0o600) };
  }

  /** The log of a running daemon being taken over: only what it writes from now on is new. */
  static takeOver(path: string, maxBytes = DAEMON_LOG_MAX_BYTES): DaemonLog {
    const log = new DaemonLog(path, maxBytes);
    try {
      log.offset = statSync(path).size;
    } catch {
      // A daemon started before logs went to a file: nothing to follow until it is restarted.
    }
    return log;
  }

  /** The complete lines written since the last call. */
  read(): string[] {
    let fd: number;
    try {
      fd = openSync(this.path, "r");
    } catch {
      return [];
    }
    try {
      for (;;) {
        const n = readSync(fd, this.buf, 0, this.buf.length, this.offset);
        if (n <= 0) break;
        this.offset += n;
        this.partial += this.buf.toString("utf8", 0, n);
      }
    } finally {
      closeSync(fd);
    }
    if (this.offset >= this.maxBytes) {
      truncateSync(this.path, 0);
      this.offset = 0;
    }
    const lines = this.partial.split("\n");
    this.partial = lines.pop() ?? "";
    return lines.filter((l) => l.length > 0);
  }

  /** Hands each new line to `onLine` about once a second (an unref'd timer: it never keeps the process alive). */
  follow(onLine: (line: string) => void, everyMs = 1000): void {
    this.timer ??= setInterval(() => {
      for (const line of this.read()) onLine(line);
    }, everyMs);
    this.timer.unref();
  }

  /** Stops following; `remove` also deletes the file (the device is gone). */
  stop(remove: boolean): void {
    clearInterval(this.timer);
    this.timer = undefined;
    if (remove) rmSync(this.path, { force: true });
  }
}
