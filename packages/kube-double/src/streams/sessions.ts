/**
 * Every exec, attach and port-forward session the double served, running or
 * ended, with how it ended: what tests query to see that a Ctrl-C or a pod
 * deletion reached the API server side.
 */
import type { TerminalSize } from "./process.js";

export type SessionKind = "exec" | "attach" | "portforward";

/**
 * How a session ended: `exit` (the command finished; see exitCode),
 * `client-closed` (the client went away or closed the connection first),
 * `pod-deleted`, `server-closed` (the double was closed), `target-error`
 * (a port-forward target refused or failed).
 */
export type EndReason = "exit" | "client-closed" | "pod-deleted" | "server-closed" | "target-error";

export interface SessionRecord {
  id: number;
  kind: SessionKind;
  namespace: string;
  pod: string;
  container?: string;
  /** exec: the argv. */
  command?: string[];
  /** portforward: the pod ports. */
  ports?: number[];
  tty: boolean;
  /** The negotiated WebSocket subprotocol. */
  protocol: string;
  user: string;
  startedAt: Date;
  endedAt?: Date;
  reason?: EndReason;
  exitCode?: number;
  /** The last terminal size the client sent. */
  size?: TerminalSize;
  /** Bytes received from / sent to the client on data channels. */
  bytesIn: number;
  bytesOut: number;
}

export interface SessionFilter {
  namespace?: string;
  pod?: string;
  kind?: SessionKind;
  /** true: only running ones; false: only ended ones. */
  running?: boolean;
}

export class SessionLog {
  private readonly records: SessionRecord[] = [];
  private readonly closers = new Map<number, (reason: EndReason) => void>();

  /** Record a new session; `close` ends it from outside (pod deleted, server closing). */
  start(r: Omit<SessionRecord, "id" | "startedAt" | "bytesIn" | "bytesOut">, close: (reason: EndReason) => void): SessionRecord {
    const rec: SessionRecord = { ...r, id: this.records.length + 1, startedAt: new Date(), bytesIn: 0, bytesOut: 0 };
    this.records.push(rec);
    this.closers.set(rec.id, close);
    return rec;
  }

  /** Mark a session ended (the first reason wins). */
  end(rec: SessionRecord, reason: EndReason, exitCode?: number): void {
    if (rec.endedAt) return;
    rec.endedAt = new Date();
    rec.reason = reason;
    if (exitCode !== undefined) rec.exitCode = exitCode;
    this.closers.delete(rec.id);
  }

  list(f: SessionFilter = {}): SessionRecord[] {
    return this.records.filter((r) => (f.namespace === undefined || r.namespace === f.namespace) && (f.pod === undefined || r.pod === f.pod) && (f.kind === undefined || r.kind === f.kind) && (f.running === undefined || f.running === !r.endedAt));
  }

  /** End the running sessions of a pod (or all), with the reason. */
  closeAll(reason: EndReason, namespace?: string, pod?: string): void {
    for (const r of this.list({ running: true, ...(namespace !== undefined ? { namespace } : {}), ...(pod !== undefined ? { pod } : {}) })) this.closers.get(r.id)?.(reason);
  }
}
