/**
 * The app's entry, kept small: it asks for what the first page needs (who is
 * signed in; on the signed-in pages the clusters list and the live event
 * stream, which LiveProvider keeps on every one of them) and only then loads
 * the app, so those requests run while the browser fetches and compiles it.
 * The app takes the responses through api() (prefetch) and adoptEarlyEvents(),
 * or asks again when one failed.
 */
import { prefetch } from "./api";
import { openEventsEarly } from "./early-stream";
import "./styles.css";

prefetch("/v1/session");
if (!location.pathname.startsWith("/signin")) {
  prefetch("/v1/clusters");
  openEventsEarly();
}
void import("./main");
