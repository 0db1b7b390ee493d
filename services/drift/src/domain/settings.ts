/** Reconciliation settings as asked for, checked before they are stored. Pure. */
import type { IgnoreRule } from "./detect.js";
import { DEFAULT_INTERVAL_SECONDS, MAX_INTERVAL_SECONDS, MIN_INTERVAL_SECONDS } from "./schedule.js";

export const MAX_IGNORE_RULES = 200;
export const MAX_POINTERS_PER_RULE = 50;

const KIND = /^[A-Z][A-Za-z0-9]{0,62}$/;
/** RFC 6901: "" or "/" segments, "~" only as "~0" or "~1". */
const POINTER = /^(\/([^~/]|~[01])*)+$/;

export type SettingsCheck = { ok: true; intervalSeconds: number; ignore: IgnoreRule[] } | { ok: false; problem: string };

/** `intervalSeconds` 0 means the default. */
export function checkSettings(intervalSeconds: number, ignore: readonly IgnoreRule[]): SettingsCheck {
  const interval = intervalSeconds === 0 ? DEFAULT_INTERVAL_SECONDS : intervalSeconds;
  if (!Number.isInteger(interval) || interval < MIN_INTERVAL_SECONDS || interval > MAX_INTERVAL_SECONDS) {
    return { ok: false, problem: `the interval must be ${MIN_INTERVAL_SECONDS}..${MAX_INTERVAL_SECONDS} seconds, got ${intervalSeconds}` };
  }
  if (ignore.length > MAX_IGNORE_RULES) return { ok: false, problem: `at most ${MAX_IGNORE_RULES} ignore rules, got ${ignore.length}` };
  for (const [i, r] of ignore.entries()) {
    const at = `ignore rule ${i + 1}`;
    if (!KIND.test(r.kind)) return { ok: false, problem: `${at}: kind ${JSON.stringify(r.kind)} is not a Kubernetes kind (e.g. Deployment)` };
    if (r.pointers.length === 0 || r.pointers.length > MAX_POINTERS_PER_RULE) return { ok: false, problem: `${at}: give 1..${MAX_POINTERS_PER_RULE} JSON pointers` };
    const bad = r.pointers.find((p) => !POINTER.test(p) || p.length > 1024);
    if (bad !== undefined) return { ok: false, problem: `${at}: ${JSON.stringify(bad)} is not a JSON pointer (RFC 6901, e.g. /spec/replicas)` };
  }
  return { ok: true, intervalSeconds: interval, ignore: ignore.map((r) => ({ kind: r.kind, name: r.name, namespace: r.namespace, pointers: [...r.pointers] })) };
}
