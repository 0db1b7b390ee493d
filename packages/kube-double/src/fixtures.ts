/**
 * Loads the Kubernetes objects in testdata/kube/ (List files as a real server
 * returns them). Timestamps are shifted so the snapshot's capture time is
 * "now": ages print the same (`12d`, `95s`) whenever the tests run.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { KubeObject } from "./store.js";

/** testdata/kube at the repository root. */
export const DEFAULT_FIXTURES_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "../../../testdata/kube");

const TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

function shiftTimes(v: unknown, shiftMs: number): unknown {
  if (typeof v === "string" && TIMESTAMP.test(v)) {
    // Keep the original precision: a MicroTime (`.000000Z`) must stay one for Go clients to parse it.
    const frac = /\.(\d+)Z$/.exec(v)?.[1];
    const iso = new Date(Date.parse(v) + shiftMs).toISOString();
    return frac ? iso.replace(/\.(\d+)Z$/, (_, ms: string) => `.${ms.padEnd(frac.length, "0").slice(0, frac.length)}Z`) : iso.replace(/\.\d+Z$/, "Z");
  }
  if (Array.isArray(v)) return v.map((x) => shiftTimes(x, shiftMs));
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, shiftTimes(x, shiftMs)]));
  return v;
}

export interface Fixtures {
  objects: KubeObject[];
  /** pod key `ns/pod` → container → lines, each `{ ago: seconds, text }`. */
  logs: Record<string, Record<string, { ago: number; text: string }[]>>;
  capturedAt: number;
}

export function loadFixtures(dir = DEFAULT_FIXTURES_DIR, now = Date.now()): Fixtures {
  const snapshot = JSON.parse(readFileSync(join(dir, "snapshot.json"), "utf8")) as { capturedAt: string };
  const capturedAt = Date.parse(snapshot.capturedAt);
  const shift = now - capturedAt;
  const objects: KubeObject[] = [];
  let logs: Fixtures["logs"] = {};
  for (const f of readdirSync(dir).filter((n) => n.endsWith(".json")).sort()) {
    if (f === "snapshot.json") continue;
    const doc = JSON.parse(readFileSync(join(dir, f), "utf8"));
    if (f === "logs.json") {
      logs = doc;
      continue;
    }
    const items: KubeObject[] = doc.kind?.endsWith("List") ? doc.items : [doc];
    const kind = String(doc.kind).replace(/List$/, "");
    for (const it of items) objects.push(shiftTimes({ ...it, kind: it["kind"] ?? kind, apiVersion: it["apiVersion"] ?? doc.apiVersion }, shift) as KubeObject);
  }
  return { objects, logs, capturedAt };
}
