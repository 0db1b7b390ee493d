/**
 * The clusters as the hub sees them, kept live: one GET /v1/clusters and one
 * server-sent event stream per tab (GET /v1/events), started together. Each
 * event is applied by cluster id (live-merge.ts), so a replayed event never
 * makes a duplicate row, and a status older than the one shown is ignored.
 *
 * The list says how new it is (`seq`: every event up to it is in it) and the
 * stream where it starts (hello's `seq`: events after it follow). When the list
 * is older than the hello (an event came between the two), the list is fetched
 * again: no event between them is lost, and none makes a second row. When the stream drops the store says "reconnecting", waits
 * (exponential backoff with jitter, 0.5 s doubling to 15 s) and resumes from
 * the last event id it saw; `reset` (the hub cannot resume from there)
 * refetches the list.
 */
import { createContext, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { api, messageOf, type Alert, type Cluster } from "./api";
import { adoptEarlyEvents } from "./early-stream";
import { applyEvent, applyList, type ClusterEvent, type MergeMemory } from "./live-merge";

export type StreamState = "connecting" | "open" | "reconnecting";

interface LiveState {
  clusters: Map<string, Cluster>;
  /** The first list has arrived. */
  loaded: boolean;
  /** Why the list could not be loaded (the person can retry). */
  error: string | null;
  stream: StreamState;
  /** Seconds until the next reconnect attempt, while reconnecting. */
  retryInS: number | null;
  /** Alerts that arrived on the stream, newest last. */
  alerts: Alert[];
  reload(): void;
  /** A cluster the page just changed itself (add, delete) before the event arrives. */
  upsert(c: Cluster): void;
  remove(id: string): void;
}

const Ctx = createContext<LiveState | null>(null);

export function LiveProvider({ children }: { children: ReactNode }) {
  const [clusters, setClusters] = useState<Map<string, Cluster>>(() => new Map());
  const [loaded, setLoaded] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [stream, setStream] = useState<StreamState>("connecting");
  const [retryInS, setRetryInS] = useState<number | null>(null);
  const [alerts, setAlerts] = useState<Alert[]>([]);
  const [generation, setGeneration] = useState(0);
  const mem = useRef<MergeMemory>({ deleted: new Set(), touched: new Set() });
  // The event id the newest list is as new as, and the one the stream delivers every event after.
  const seqs = useRef<{ list?: number; stream?: number }>({});
  /** The stream started after the list: events in between are in neither, so fetch the list again. */
  const refetchIfBehind = useRef(() => {
    const { list, stream } = seqs.current;
    if (list === undefined || stream === undefined || list >= stream) return;
    seqs.current.list = undefined;
    setGeneration((g) => g + 1);
  });

  // The list: on start (with the stream), on reload(), on `event: reset` and when the stream is ahead of it.
  useEffect(() => {
    const ctl = new AbortController();
    mem.current.touched.clear();
    // A server without `seq`: the list is as new as the stream's start when it was asked for after it.
    const streamAtStart = seqs.current.stream ?? -1;
    api<{ clusters: Cluster[]; seq?: number }>("GET", "/v1/clusters", undefined, { signal: ctl.signal })
      .then(({ clusters: list, seq }) => {
        setClusters((prev) => applyList(prev, list, mem.current));
        setError(null);
        setLoaded(true);
        seqs.current.list = typeof seq === "number" ? seq : streamAtStart;
        refetchIfBehind.current();
      })
      .catch((err: unknown) => {
        if ((err as Error).name === "AbortError") return;
        setError(messageOf(err));
        setLoaded(true);
      });
    return () => ctl.abort();
  }, [generation]);

  // The stream.
  useEffect(() => {
    let es: EventSource | undefined;
    let lastId = "";
    let attempt = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let tick: ReturnType<typeof setInterval> | undefined;
    let stopped = false;

    const apply = (ev: ClusterEvent) => setClusters((prev) => applyEvent(prev, ev, mem.current));

    const connect = () => {
      if (stopped) return;
      const url = lastId ? `/v1/events?lastEventId=${encodeURIComponent(lastId)}` : "/v1/events";
      // The first connection: the stream the entry opened with the first requests, if it is still open.
      const adopted = es === undefined ? adoptEarlyEvents() : undefined;
      const src = adopted?.src ?? new EventSource(url, { withCredentials: true });
      es = src;
      const remember = (e: MessageEvent) => {
        if (e.lastEventId) lastId = e.lastEventId;
      };
      src.addEventListener("open", () => {
        attempt = 0;
        setRetryInS(null);
        setStream("open");
      });
      // hello/reset: the stream starts after seq N. Remember N (so a drop before any event resumes there,
      // missing nothing); after reset, or a hello newer than the list, fetch the list again.
      const start = (e: MessageEvent) => {
        remember(e);
        let seq: number | undefined;
        try {
          const d = JSON.parse(e.data) as { seq?: unknown };
          if (typeof d.seq === "number") seq = d.seq;
        } catch {
          // no seq: the next event's id
        }
        if (!e.lastEventId && seq !== undefined) lastId = String(seq);
        setStream("open");
        if (e.type === "reset" || seq === undefined) {
          seqs.current = { stream: seq };
          setGeneration((g) => g + 1);
          return;
        }
        seqs.current.stream = seq;
        refetchIfBehind.current();
      };
      src.addEventListener("hello", start);
      src.addEventListener("cluster", (e) => {
        remember(e);
        try {
          apply(JSON.parse(e.data) as ClusterEvent);
        } catch {
          // a malformed event changes nothing
        }
      });
      src.addEventListener("alert", (e) => {
        remember(e);
        try {
          const { alert } = JSON.parse(e.data) as { alert: Alert };
          setAlerts((prev) => [...prev.slice(-99), alert]);
        } catch {
          // ignore
        }
      });
      src.addEventListener("reset", start);
      src.addEventListener("error", () => {
        // EventSource would retry on its own at a fixed pace; we back off and resume ourselves.
        src.close();
        if (stopped) return;
        setStream("reconnecting");
        const delay = Math.min(15_000, 500 * 2 ** attempt) * (0.8 + Math.random() * 0.4);
        attempt++;
        const at = Date.now() + delay;
        setRetryInS(Math.ceil(delay / 1000));
        clearInterval(tick);
        tick = setInterval(() => setRetryInS(Math.max(0, Math.ceil((at - Date.now()) / 1000))), 1000);
        timer = setTimeout(() => {
          clearInterval(tick);
          connect();
        }, delay);
      });
      adopted?.replay();
    };
    connect();
    return () => {
      stopped = true;
      clearTimeout(timer);
      clearInterval(tick);
      es?.close();
    };
  }, []);

  const value = useMemo<LiveState>(
    () => ({
      clusters,
      loaded,
      error,
      stream,
      retryInS,
      alerts,
      reload: () => setGeneration((g) => g + 1),
      upsert: (c) => setClusters((prev) => applyEvent(prev, { kind: "created", cluster: c }, mem.current)),
      remove: (id) => setClusters((prev) => applyEvent(prev, { kind: "deleted", cluster: { id } as Cluster }, mem.current)),
    }),
    [clusters, loaded, error, stream, retryInS, alerts],
  );

  // The DOM contract of the UI bench: the first list is on screen and the stream is open.
  useEffect(() => {
    if (loaded && stream === "open") document.documentElement.dataset.ready = "true";
  }, [loaded, stream]);

  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export function useLive(): LiveState {
  const s = useContext(Ctx);
  if (!s) throw new Error("useLive outside LiveProvider");
  return s;
}
