/** What a command of the double's "container" gets: its argv, its stdio, the terminal and the pod's file system. */
import type { Readable } from "node:stream";
import type { PodFs } from "./pod-fs.js";

export interface TerminalSize {
  width: number;
  height: number;
}

export interface Proc {
  /** stdin, or undefined when the session has none (`stdin=false`). Ends when the client closes it (v5) or goes away. */
  stdin: Readable | undefined;
  /** Write to stdout; resolves once the client connection took the bytes (backpressure). With a TTY, "\n" goes out as "\r\n". */
  out(data: string | Buffer): Promise<void>;
  /** Write to stderr (to stdout with a TTY, as a terminal has one output). */
  err(data: string | Buffer): Promise<void>;
  tty: boolean;
  /** The last size the client sent on the resize channel. */
  size(): TerminalSize | undefined;
  fs: PodFs;
  hostname: string;
  /** Aborted when the session ends from outside: client gone, pod deleted, server closing. */
  signal: AbortSignal;
  /** Aborted by Ctrl-C typed under a TTY (the terminal's SIGINT to the foreground command); a new signal after each. */
  interrupt(): AbortSignal;
}

/** A command of the container: resolves with its exit code. */
export type Command = (argv: string[], p: Proc) => Promise<number>;

/** Every chunk of stdin until it ends (or the session is aborted). */
export async function* readStdin(p: Proc): AsyncGenerator<Buffer> {
  if (!p.stdin) return;
  try {
    for await (const c of p.stdin) yield c as Buffer;
  } catch {
    // Destroyed by an abort: stdin just ends.
  }
}
