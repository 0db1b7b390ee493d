/**
 * What `bench wg-floor` reads of each process, from /proc, and the control of its `--node` processes.
 *
 * Per process: user and system CPU seconds (/proc/<pid>/stat, all threads), context switches summed over its
 * threads (/proc/<pid>/task/<tid>/status; a thread that exited mid-run is lost, Go keeps its threads), and
 * read/write syscalls (/proc/<pid>/io syscr/syscw: read(2)/readv and write(2)/writev, which is how wireguard-go
 * reads and writes its TUN device, one packet a call, and how Node reads and writes TCP sockets; sendmsg/recvmsg,
 * which wireguard-go's UDP side uses, are not counted there).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import type { NodeCommand, NodeReply } from "./wg-floor-node.js";

export interface Counters {
  user: number;
  sys: number;
  ctx: number;
  syscalls: number;
}

const ZERO: Counters = { user: 0, sys: 0, ctx: 0, syscalls: 0 };
const TICK = 0.01;

/** utime and stime (seconds, USER_HZ 100) from a /proc/<pid>/stat line; `comm` may hold spaces and parentheses. */
export function parseStat(stat: string): { user: number; sys: number } {
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { user: Number(rest[11]) * TICK, sys: Number(rest[12]) * TICK };
}

/** voluntary + nonvoluntary context switches from a /proc/<pid>/status text. */
export function parseCtx(status: string): number {
  let n = 0;
  for (const m of status.matchAll(/^(?:non)?voluntary_ctxt_switches:\s+(\d+)$/gm)) n += Number(m[1]);
  return n;
}

/** syscr + syscw from a /proc/<pid>/io text. */
export function parseSyscalls(io: string): number {
  let n = 0;
  for (const m of io.matchAll(/^sysc[rw]:\s+(\d+)$/gm)) n += Number(m[1]);
  return n;
}

/** The counters of `pid` now; zeros once it is gone. */
export function readCounters(pid: number): Counters {
  try {
    const { user, sys } = parseStat(readFileSync(`/proc/${pid}/stat`, "utf8"));
    let ctx = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        ctx += parseCtx(readFileSync(`/proc/${pid}/task/${tid}/status`, "utf8"));
      } catch {
        // thread gone
      }
    }
    return { user, sys, ctx, syscalls: parseSyscalls(readFileSync(`/proc/${pid}/io`, "utf8")) };
  } catch {
    return { ...ZERO };
  }
}

export const minus = (a: Counters, b: Counters): Counters => ({ user: a.user - b.user, sys: a.sys - b.sys, ctx: a.ctx - b.ctx, syscalls: a.syscalls - b.syscalls });
export const plus = (a: Counters, b: Counters): Counters => ({ user: a.user + b.user, sys: a.sys + b.sys, ctx: a.ctx + b.ctx, syscalls: a.syscalls + b.syscalls });
export const zero = (): Counters => ({ ...ZERO });

/** The median of `xs` (the upper one of an even count), 0 when empty. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : 0;
}

/** A `--node` process, one command at a time. */
export class FloorNode {
  private readonly replies: Array<(r: NodeReply) => void> = [];
  private stderr = "";

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    createInterface({ input: child.stdout! }).on("line", (l) => {
      if (l.startsWith("{")) this.replies.shift()?.(JSON.parse(l) as NodeReply);
    });
    child.stderr!.on("data", (b: Buffer) => (this.stderr = (this.stderr + b.toString()).slice(-4000)));
    child.once("exit", (code, signal) => {
      for (const r of this.replies.splice(0)) r({ ok: false, error: `${name} exited (${signal ?? code}): ${this.stderr.trim()}` });
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Sends `c`, resolves with its answer; rejects on an error answer or after `timeoutMs`. */
  async send(c: NodeCommand, timeoutMs = 120_000): Promise<Extract<NodeReply, { ok: true }>> {
    let t: NodeJS.Timeout | undefined;
    const reply = new Promise<NodeReply>((resolve) => {
      this.replies.push(resolve);
      t = setTimeout(() => resolve({ ok: false, error: `${this.name}: no answer to ${c.op} within ${timeoutMs} ms` }), timeoutMs);
    });
    this.child.stdin!.write(`${JSON.stringify(c)}\n`);
    const r = await reply;
    clearTimeout(t);
    if (!r.ok) throw new Error(`${this.name} ${c.op}: ${r.error}`);
    return r;
  }

  /** Asks it to quit (closing its device); SIGKILL if it has not exited within 5 s. */
  async quit(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((r) => this.child.once("exit", () => r()));
    this.child.stdin!.write(`${JSON.stringify({ op: "quit" })}\n`);
    const t = setTimeout(() => this.child.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(t);
  }
}

/** Starts `node --import tsx <entry> --node` in the root namespace (`spawner` runs it elsewhere, e.g. NsHost.spawn). */
export function startNode(name: string, entry: string, spawner?: (cmd: string, args: string[]) => ChildProcess): FloorNode {
  const args = ["--import", "tsx", entry, "--node"];
  const child = spawner ? spawner(process.execPath, args) : spawn(process.execPath, args, { stdio: ["pipe", "pipe", "pipe"] });
  return new FloorNode(name, child);
}
