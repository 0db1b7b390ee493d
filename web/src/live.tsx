/**
 * The clusters as the hub sees them, kept live: one GET /v1/clusters, then
 * one server-sent event stream per tab (GET /v1/events). Each event is applied
 * by cluster id (live-merge.ts), so a replayed event never makes a duplicate
 * row, and a status older than the one shown is ignored. When the
 * stream drops the store says "reconnecting", waits (exponential backoff with
 * jitter, 0.5 s doubling to 15 s) and resumes from the last event id it saw
 * (or hello's seq); `hello` and `reset` (the hub cannot resume from there)
 * refetch the list, so nothing between the list and the stream is lost.
 */
import { createContext, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { api, messageOf, type Alert, type Cluster } from "./api";
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

  // The list: on start, on reload() and on `event: reset`.
  useEffect(() => {
    const ctl = new AbortController();
    mem.current.touched.clear();
    api<{ clusters: Cluster[] }>("GET", "/v1/clusters", undefined, { signal: ctl.signal })
      .then(({ clusters: list }) => {
        setClusters((prev) => applyList(prev, list, mem.current));
        setError(null);
        setLoaded(true);
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
      const src = new EventSource(url, { withCredentials: true });
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
      // missing nothing) and fetch the list now, so nothing between the list and the stream is lost.
      const start = (e: MessageEvent) => {
        remember(e);
        if (!e.lastEventId) {
          try {
            const { seq } = JSON.parse(e.data) as { seq?: number };
            if (typeof seq === "number") lastId = String(seq);
          } catch {
            // no seq: the next event's id
          }
        }
        setStream("open");
        setGeneration((g) => g + 1);
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
