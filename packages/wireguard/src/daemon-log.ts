/**
 * Where wireguard-go's output goes: a file, not a pipe to this process.
 *
 * Why: wireguard-go outlives the process that started it (a restarted hub takes the running device over, see
 * openDevice). Go kills a program that writes to a broken pipe on fd 1 or 2 with SIGPIPE, so with a pipe the
 * orphaned daemon died at its first log line after its parent did — e.g. "Failed to send handshake initiation: no
 * known endpoint" when a batched set turned keepalive on for peers without an endpoint — dropping every tunnel and
 * resetting the UAPI connection mid-set (ECONNRESET). A file never breaks; whoever owns the device follows it.
 *
 * The file is unlinked as soon as the daemon's descriptor and ours are open: it has no name to leave behind when
 * the owner is killed or the namespace deleted, and disappears with the last descriptor. A process that takes a
 * running daemon over reaches the same file through `/proc/<daemon pid>/fd/1`.
 */
import { closeSync, fstatSync, ftruncateSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, rmSync } from "node:fs";
import { dirname } from "node:path";

/**
 * Bytes the file may hold before its follower, having read them all, empties it. The daemon writes with O_APPEND,
 * so its next line lands at the new end (0) rather than at its old offset behind a hole. A line written between the
 * last read and the truncation is lost: the price of never growing without bound (a hub's wireguard-go can log a
 * line per peer and keepalive for peers that have no endpoint).
 */
export const DAEMON_LOG_MAX_BYTES = 4 * 1024 * 1024;

/** `/var/run/wireguard/wg0.sock` → `/var/run/wireguard/wg0.log` (the name exists only while the daemon starts). */
export function daemonLogPath(socket: string): string {
  return `${socket.replace(/\.sock$/, "")}.log`;
}

/** The pid of the wireguard-go running `-f <iface>`, from /proc; undefined when none is found. */
function daemonPid(iface: string): number | undefined {
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    } catch {
      continue;
    }
    if (argv[0]?.endsWith("wireguard-go") && argv[1] === "-f" && argv[2] === iface) return Number(pid);
  }
  return undefined;
}

export class DaemonLog {
  private offset = 0;
  private partial = "";
  private timer: NodeJS.Timeout | undefined;
  private readonly buf = Buffer.alloc(16 * 1024);

  private constructor(
    private fd: number | undefined,
    private readonly maxBytes: number,
  ) {}

  /** A new, empty, already unlinked log, and the descriptor (append-only) to hand the child as stdout and stderr (closed by the caller once spawned). */
  static create(path: string, maxBytes = DAEMON_LOG_MAX_BYTES): { log: DaemonLog; fd: number } {
    mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
    const own = openSync(path, "w+", 0o600);
    const child = openSync(path, "a");
    rmSync(path, { force: true });
    return { log: new DaemonLog(own, maxBytes), fd: child };
  }

  /** The log behind `path` (e.g. `/proc/<pid>/fd/1`) from its current end: only what is written from now on is new. */
  static attach(path: string, maxBytes = DAEMON_LOG_MAX_BYTES): DaemonLog {
    let fd: number | undefined;
    try {
      fd = openSync(path, "r+");
    } catch {
      // Gone, or not a file (a daemon started before logs went to a file): nothing to follow.
    }
    const log = new DaemonLog(fd, maxBytes);
    if (fd !== undefined) log.offset = fstatSync(fd).size;
    return log;
  }

  /** The log of the running daemon of `iface` being taken over (through its pid's stdout). */
  static takeOver(iface: string, maxBytes = DAEMON_LOG_MAX_BYTES): DaemonLog {
    const pid = daemonPid(iface);
    return pid === undefined ? new DaemonLog(undefined, maxBytes) : DaemonLog.attach(`/proc/${pid}/fd/1`, maxBytes);
  }

  /** The complete lines written since the last call. */
  read(): string[] {
    if (this.fd === undefined) return [];
    for (;;) {
      const n = readSync(this.fd, this.buf, 0, this.buf.length, this.offset);
      if (n <= 0) break;
      this.offset += n;
      this.partial += this.buf.toString("utf8", 0, n);
    }
    if (this.offset >= this.maxBytes) {
      ftruncateSync(this.fd, 0);
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

  /** Stops following and lets go of the file (it disappears once the daemon's descriptor closes too). */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
