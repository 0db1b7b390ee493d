/**
 * One exec or attach session on a channel connection, as the kubelet runs
 * it: stdin/stdout/stderr on channels 0–2, the end as a Status on channel 3,
 * terminal sizes on channel 4, stdin closed by the v5 close signal.
 */
import { PassThrough } from "node:stream";
import type { LogStore } from "../logs.js";
import { ChannelConn, CLOSE_SIGNAL, ERROR, RESIZE, STDERR, STDIN, STDOUT } from "./channel.js";
import { runCommand } from "./commands.js";
import type { PodFs } from "./pod-fs.js";
import { readStdin, type Proc, type TerminalSize } from "./process.js";
import type { EndReason, SessionLog } from "./sessions.js";

export interface RemoteCommandRequest {
  kind: "exec" | "attach";
  namespace: string;
  pod: string;
  container: string;
  command: string[];
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
  user: string;
}

export interface PodRuntime {
  fs: PodFs;
  logs: LogStore;
  sessions: SessionLog;
}

/** Exit code the double reports for a command whose pod was deleted under it (SIGKILL). */
const KILLED_EXIT_CODE = 137;

/** The Status the kubelet writes on the error channel when a command ends with `code`. */
export function exitStatus(command: string[], code: number): object {
  if (code === 0) return { metadata: {}, status: "Success" };
  return {
    metadata: {}, status: "Failure",
    message: `command terminated with non-zero exit code: error executing command [${command.join(" ")}], exit code ${code}`,
    reason: "NonZeroExitCode",
    details: { causes: [{ reason: "ExitCode", message: String(code) }] },
  };
}

/** "\n" → "\r\n", as a terminal's output processing (onlcr) does. */
function onlcr(b: Buffer): Buffer {
  if (!b.includes(0x0a)) return b;
  const parts: Buffer[] = [];
  let from = 0;
  for (let i = b.indexOf(0x0a); i !== -1; i = b.indexOf(0x0a, i + 1)) {
    parts.push(b.subarray(from, i), Buffer.from("\r\n"));
    from = i + 1;
  }
  parts.push(b.subarray(from));
  return Buffer.concat(parts);
}

export function serveRemoteCommand(conn: ChannelConn, req: RemoteCommandRequest, rt: PodRuntime): void {
  const ac = new AbortController();
  const stdin = req.stdin ? new PassThrough() : undefined;
  let size: TerminalSize | undefined;
  let intr = new AbortController();
  let finished = false;
  const rec = rt.sessions.start(
    { kind: req.kind, namespace: req.namespace, pod: req.pod, container: req.container, ...(req.kind === "exec" ? { command: req.command } : {}), tty: req.tty, protocol: conn.protocol, user: req.user },
    (reason) => endFromOutside(reason),
  );

  const send = (channel: number, data: string | Buffer) => {
    let b = typeof data === "string" ? Buffer.from(data) : data;
    if (req.tty) b = onlcr(b);
    rec.bytesOut += b.length;
    return conn.send(channel, b);
  };
  const proc: Proc = {
    stdin, tty: req.tty, fs: rt.fs, hostname: req.pod, signal: ac.signal,
    size: () => size,
    interrupt: () => intr.signal,
    out: (d) => (req.stdout ? send(STDOUT, d) : Promise.resolve()),
    // A terminal has a single output stream: with a TTY stderr goes to stdout.
    err: (d) => (req.tty ? proc.out(d) : req.stderr ? send(STDERR, d) : Promise.resolve()),
  };

  function endFromOutside(reason: EndReason): void {
    if (finished) return;
    finished = true;
    ac.abort();
    stdin?.end();
    if (reason === "pod-deleted") {
      rt.sessions.end(rec, reason, KILLED_EXIT_CODE);
      void conn.send(ERROR, Buffer.from(JSON.stringify(exitStatus(req.command, KILLED_EXIT_CODE)))).then(() => conn.close());
    } else {
      rt.sessions.end(rec, reason);
      conn.close(reason === "server-closed" ? 1001 : 1000);
    }
  }

  conn.onMessage((channel, data) => {
    if (channel === STDIN && stdin && !stdin.writableEnded) {
      rec.bytesIn += data.length;
      if (req.tty && data.includes(0x03)) {
        intr.abort();
        intr = new AbortController();
      }
      // A command that reads slower than the client sends pushes back on the connection.
      if (!stdin.write(data)) {
        conn.ws.pause();
        stdin.once("drain", () => conn.ws.resume());
      }
    } else if (channel === RESIZE) {
      try {
        const s = JSON.parse(data.toString("utf8")) as { Width?: number; Height?: number };
        size = { width: Number(s.Width ?? 0), height: Number(s.Height ?? 0) };
        rec.size = size;
      } catch {
        // A malformed resize is ignored, as the kubelet does.
      }
    } else if (channel === CLOSE_SIGNAL && conn.closeSignal && data[0] === STDIN) stdin?.end();
  });
  conn.ws.on("close", () => endFromOutside("client-closed"));

  // The kubelet's first frame: an empty message on the lowest writable channel says the streams are ready.
  void conn.send(req.stdout ? STDOUT : req.stderr ? STDERR : ERROR, Buffer.alloc(0));

  const main = req.kind === "exec" ? runCommand(req.command, proc) : attachMain(req, proc, rt.logs);
  main.then(
    async (code) => {
      if (finished) return;
      finished = true;
      rt.sessions.end(rec, "exit", code);
      if (conn.statusErrors) await conn.send(ERROR, Buffer.from(JSON.stringify(exitStatus(req.command, code))));
      else if (code !== 0) await conn.send(ERROR, Buffer.from(`command terminated with non-zero exit code: error executing command [${req.command.join(" ")}], exit code ${code}`));
      conn.close();
    },
    () => endFromOutside("server-closed"),
  );
}

/**
 * The pod's main process, as attach sees it: an echo loop that writes back
 * what it reads on stdin (ending when stdin ends), and the container's output,
 * which is what tests append with appendLog. Without stdin it runs until the
 * container's logs end (endLogs) or the session is closed.
 */
async function attachMain(req: RemoteCommandRequest, p: Proc, logs: LogStore): Promise<number> {
  let stopFollowing = () => {};
  const logsEnded = new Promise<void>((resolve) => {
    const unfollow = logs.follow(req.namespace, req.pod, req.container, { write: (l) => void p.out(`${l.text}\n`), end: resolve });
    stopFollowing = () => (unfollow(), resolve());
  });
  p.signal.addEventListener("abort", stopFollowing, { once: true });
  try {
    if (!p.stdin) {
      await logsEnded;
      return 0;
    }
    for await (const chunk of readStdin(p)) await p.out(p.tty ? chunk.toString("utf8").replace(/\r/g, "\n") : chunk);
    return 0;
  } finally {
    stopFollowing();
  }
}
