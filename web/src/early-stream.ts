/**
 * The live event stream (GET /v1/events), opened by the entry (boot.ts) with
 * the first page's requests, for LiveProvider to adopt as its own first
 * connection: what arrived before then is kept and replayed to it in order, so
 * adopting the stream is the same as having opened it. A stream that failed
 * before it was adopted (not signed in yet, the hub away) is closed and not
 * adopted: LiveProvider opens its own. Still one stream per tab.
 */
const KINDS = ["open", "hello", "reset", "cluster", "alert", "error"] as const;

let early: { src: EventSource; seen: Event[]; keep: (e: Event) => void } | undefined;

export function openEventsEarly(): void {
  const src = new EventSource("/v1/events", { withCredentials: true });
  const seen: Event[] = [];
  const keep = (e: Event) => {
    seen.push(e);
    // EventSource would retry on its own; LiveProvider decides when to retry.
    if (e.type === "error") src.close();
  };
  for (const k of KINDS) src.addEventListener(k, keep);
  early = { src, seen, keep };
}

const copy = (e: Event): Event => (e instanceof MessageEvent ? new MessageEvent(e.type, { data: e.data as unknown, lastEventId: e.lastEventId }) : new Event(e.type));

/**
 * The early stream, once, if it is still open: `replay()` (after the caller's
 * listeners are on) dispatches what it received so far to them.
 */
export function adoptEarlyEvents(): { src: EventSource; replay(): void } | undefined {
  const e = early;
  early = undefined;
  if (!e) return undefined;
  for (const k of KINDS) e.src.removeEventListener(k, e.keep);
  if (e.src.readyState === EventSource.CLOSED) return undefined;
  return {
    src: e.src,
    replay: () => {
      for (const ev of e.seen.splice(0)) e.src.dispatchEvent(copy(ev));
    },
  };
}
