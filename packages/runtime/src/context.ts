import { CallerKind } from "@daalu/proto";
import type { Logger } from "pino";
import { Code, DaaluError } from "./errors.js";

/**
 * Header / metadata names that carry request context across NATS and gRPC.
 * gRPC metadata keys are the lower-cased forms.
 */
export const HEADER_TENANT = "Daalu-Tenant";
export const HEADER_CALLER = "Daalu-Caller";
export const HEADER_DEADLINE = "Daalu-Deadline";
export const HEADER_ERROR_CODE = "Daalu-Error-Code";
export const HEADER_ERROR_REASON = "Daalu-Error-Reason";
export const HEADER_ERROR_MESSAGE = "Daalu-Error-Message";
export const HEADER_ERROR_HTTP = "Daalu-Error-Http";

/** Who is calling. */
export interface CallerRef {
  kind: CallerKind;
  id: string;
}

/** What every handler receives beside its request message. */
export interface CallContext {
  /** The tenant the call acts in; "" for public calls (bootstrap). */
  tenantId: string;
  caller: CallerRef;
  /** Aborted when the caller's deadline passes or the server drains. */
  signal: AbortSignal;
  logger: Logger;
}

/** What a client attaches to a call. */
export interface CallOptions {
  tenantId?: string;
  caller?: CallerRef;
  timeoutMs?: number;
}

/** The caller of a call that names none and whose client has no default caller. */
export const DEFAULT_CALLER: CallerRef = { kind: CallerKind.SERVICE, id: "unknown" };

/**
 * The one default-caller rule, applied by every client factory (natsClient,
 * natsSender, grpcClient): a call goes out as the caller it names, else as its
 * client's `defaults.caller`, else as DEFAULT_CALLER ("service:unknown").
 * Other options: the call's own over the client's defaults. A service's typed
 * client (its client.ts) passes `defaults` through unchanged, and a service
 * that calls another makes that client with its own identity
 * (`{ kind: SERVICE, id: "<its name>" }`) as `defaults.caller`.
 */
export function resolveCallOptions(defaults: CallOptions | undefined, call: CallOptions): CallOptions & { caller: CallerRef } {
  return { ...defaults, ...call, caller: call.caller ?? defaults?.caller ?? DEFAULT_CALLER };
}

const KIND_NAMES: Record<string, CallerKind> = {
  user: CallerKind.USER,
  assistant: CallerKind.ASSISTANT,
  agent: CallerKind.AGENT,
  service: CallerKind.SERVICE,
  edge: CallerKind.EDGE,
};

export function callerKindName(kind: CallerKind): string {
  for (const [name, k] of Object.entries(KIND_NAMES)) if (k === kind) return name;
  return "unspecified";
}

/** "user:alice" form, used in headers, logs and audit rows. */
export function formatCaller(c: CallerRef): string {
  return `${callerKindName(c.kind)}:${c.id}`;
}

export function parseCaller(v: string | undefined | null): CallerRef {
  if (!v) return { kind: CallerKind.UNSPECIFIED, id: "" };
  const i = v.indexOf(":");
  const kind = KIND_NAMES[i < 0 ? v : v.slice(0, i)];
  return { kind: kind ?? CallerKind.UNSPECIFIED, id: i < 0 ? "" : v.slice(i + 1) };
}

/** Tenant ids are opaque tokens; anything else in a header is refused. */
export function requireTenant(ctx: CallContext): string {
  if (!ctx.tenantId) throw new DaaluError(Code.Unauthenticated, "this call needs a tenant", { reason: "TENANT_REQUIRED" });
  return ctx.tenantId;
}

export const TENANT_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;
