/** Pod logs (`…/pods/{name}/log`): tail, since, timestamps, limitBytes, previous, and follow streams. */
import type http from "node:http";
import { findResource } from "./resources.js";
import { badRequest, notFound } from "./status.js";
import { LogStore } from "./logs.js";
import type { KubeObject } from "./store.js";
import { PacedWriter } from "./paced.js";
import type { ServerState } from "./state.js";
import type { ResourceRequest } from "./request.js";

export function createLogHandler(state: ServerState, streams: Set<http.ServerResponse>) {
  const { store, logs } = state;

  function handleLog(rr: ResourceRequest, q: URLSearchParams, req: http.IncomingMessage, res: http.ServerResponse): void {
    const podsR = findResource("", "v1", "pods")!;
    const pod = store.get(podsR, rr.namespace, rr.name!);
    if (!pod) throw notFound(podsR, rr.name!);
    const containers: string[] = (pod["spec"]?.["containers"] ?? []).map((c: KubeObject) => c["name"]);
    let container = q.get("container") ?? "";
    if (!container) {
      if (containers.length !== 1) throw badRequest(`a container name must be specified for pod ${rr.name}, choose one of: [${containers.join(" ")}]`);
      container = containers[0]!;
    }
    if (!containers.includes(container)) throw badRequest(`container ${container} is not valid for pod ${rr.name}`);
    const previous = q.get("previous") === "true";
    const status = (pod["status"]?.["containerStatuses"] ?? []).find((c: KubeObject) => c["name"] === container);
    const waiting = status?.["state"]?.["waiting"]?.["reason"];
    if (!previous && (waiting === "ContainerCreating" || waiting === "PodInitializing")) throw badRequest(`container "${container}" in pod "${rr.name}" is waiting to start: ${waiting}`);
    if (previous && !logs.has(rr.namespace!, rr.name!, container, true)) throw badRequest(`previous terminated container "${container}" in pod "${rr.name}" not found`);
    const ts = q.get("timestamps") === "true";
    const fmt = (l: { time: Date; text: string }) => (ts ? `${LogStore.timestamp(l.time)} ${l.text}\n` : `${l.text}\n`);
    let lines = logs.read(rr.namespace!, rr.name!, container, previous);
    const sinceSeconds = Number(q.get("sinceSeconds") ?? "");
    if (Number.isFinite(sinceSeconds) && sinceSeconds > 0) lines = lines.filter((l) => l.time.getTime() >= Date.now() - sinceSeconds * 1000);
    const sinceTime = q.get("sinceTime");
    if (sinceTime) lines = lines.filter((l) => l.time.getTime() >= Date.parse(sinceTime));
    const tail = q.get("tailLines");
    if (tail !== null && Number(tail) >= 0) lines = Number(tail) === 0 ? [] : lines.slice(-Number(tail));
    let budget = q.get("limitBytes") ? Number(q.get("limitBytes")) : Infinity;
    res.writeHead(200, { "Content-Type": "text/plain", "Cache-Control": "no-cache, private", "Transfer-Encoding": "chunked" });
    const out = new PacedWriter(res);
    const write = (text: string) => {
      if (budget <= 0) return;
      const b = Buffer.from(text).subarray(0, budget);
      budget -= b.length;
      out.write(b);
    };
    for (const l of lines) write(fmt(l));
    if (q.get("follow") !== "true" || previous) {
      out.end();
      return;
    }
    res.flushHeaders();
    streams.add(res);
    const stop = logs.follow(rr.namespace!, rr.name!, container, { write: (l) => write(fmt(l)), end: () => out.end() });
    const cleanup = () => {
      stop();
      streams.delete(res);
    };
    req.on("close", cleanup);
    res.on("close", cleanup);
  }

  return handleLog;
}
