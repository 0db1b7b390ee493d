/**
 * What the real-kubectl session tests share: running kubectl with a
 * kubeconfig from the gateway, granting the edge's proxy account the `exec`
 * scope as a customer would (the generated patch), and the sessions' audit rows.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { KubeConfig, KubernetesObjectApi, type KubernetesObject } from "@kubernetes/client-node";
import { generatePatch } from "@daalu/rbac";
import type { SessionStack } from "./session-harness.js";

export interface Run {
  code: number;
  out: Buffer;
  err: string;
}

/** kubectl over WebSocket (1.32's default) or, with SPDY, as older clients and KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false do. */
export const SPDY = { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: "false", KUBECTL_PORT_FORWARD_WEBSOCKETS: "false" };

/** The double serves SPDY (which every kubectl port-forward speaks) through its Go translator, built by the setup. */
export const spdySkip = existsSync(new URL("../../../packages/kube-double/spdy/bin/kube-spdy-bridge", import.meta.url)) ? false : "the double's SPDY translator is not built (bash scripts/ensure-go-spdy.sh)";

/** kubectl's argv prefix for a kubeconfig, with its cache in `dir`. */
export const kubectlArgs = (dir: string, kubeconfig: string) => ["--kubeconfig", kubeconfig, "--cache-dir", path.join(dir, "cache")];

export function kubectl(dir: string, kubeconfig: string, args: string[], input?: Buffer, env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn("kubectl", [...kubectlArgs(dir, kubeconfig), ...args], { stdio: ["pipe", "pipe", "pipe"], timeout: 60_000, env: { ...process.env, ...env } });
    const out: Buffer[] = [];
    let err = "";
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.stdin.on("error", () => {});
    child.stdin.end(input ?? Buffer.alloc(0));
    child.on("close", (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), out: Buffer.concat(out), err }));
  });
}

/** The gateway's kubeconfig for a token, written into `dir`. */
export async function kubeconfigFor(s: SessionStack, dir: string, token: string, name: string): Promise<string> {
  const kc = await fetch(`${s.gw.httpUrl}/v1/clusters/${s.cluster}/kubeconfig?token=include`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(kc.status, 200, await kc.clone().text());
  const file = path.join(dir, `${name}.kubeconfig`);
  writeFileSync(file, await kc.text(), { mode: 0o600 });
  return file;
}

/** Applies the `exec` scope's generated RBAC patch to the double, as the customer would. */
export async function grantExecScope(s: SessionStack): Promise<void> {
  const patch = generatePatch({ scopes: ["exec"] }, { release: "daalu-edge", namespace: "daalu-edge", chartVersion: "0.1.0", appVersion: "0.1.0", hubUrl: "https://hub.example.com" });
  const kc = new KubeConfig();
  kc.loadFromString(s.stack.kube.kubeconfig({ token: "admin-token" }));
  const k8s = KubernetesObjectApi.makeApiClient(kc);
  for (const o of patch.objects) await k8s.create(o as KubernetesObject);
}

export interface SessionRow {
  id: string;
  session_phase: number;
  session_command: string[];
  bytes_in: string;
  bytes_out: string;
  status_code: number;
  session_close_reason: string;
  session_exit_status: string;
  session_exit_code: number | null;
}

/** The cluster's session rows in audit.calls. */
export async function sessionRows(s: SessionStack): Promise<SessionRow[]> {
  const db = new pg.Client({ connectionString: s.env.databaseUrl });
  await db.connect();
  try {
    return (await db.query<SessionRow>(`select id, session_phase, session_command, bytes_in, bytes_out, status_code, session_close_reason, session_exit_status, session_exit_code from audit.calls where cluster_id = $1 and session_phase > 0 order by time`, [s.cluster])).rows;
  } finally {
    await db.end();
  }
}
