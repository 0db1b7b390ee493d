/**
 * Several hub nodes (docs/architecture.md "Several hub nodes"): the ordered
 * endpoints an edge may dial, and which one it moves to when the hub goes
 * silent. Pure; the agent resolves host names (a name with several addresses
 * counts as several endpoints) and passes the result in.
 */
import { isEndpoint } from "./tunnel-config.js";

/** The list from the tunnel configuration: `hub_endpoints`, else the single `hub_endpoint` (older hubs). */
export function configuredEndpoints(c: { hubEndpoint: string; hubEndpoints: readonly string[] }): string[] {
  const list = c.hubEndpoints.filter(isEndpoint);
  return list.length > 0 ? dedupe(list) : [c.hubEndpoint];
}

/**
 * What the hub sent with a probe (GetStatusRequest.hub_endpoints): a valid,
 * non-empty list replaces what the edge knows (in memory); anything else keeps it.
 */
export function learnedEndpoints(known: readonly string[], sent: readonly string[]): string[] {
  const list = dedupe(sent.filter(isEndpoint));
  return list.length > 0 ? list : [...known];
}

/**
 * The endpoint after `current` in the ring (round-robin), or the first one
 * when `current` is not in it; `current` itself when it is the only one.
 */
export function nextEndpoint(ring: readonly string[], current: string): string {
  if (ring.length === 0) return current;
  const i = ring.indexOf(current);
  return ring[(i + 1) % ring.length]!;
}

function dedupe(list: readonly string[]): string[] {
  return [...new Set(list)];
}

/**
 * Rebalancing (GetStatusRequest.move_to_endpoint): the endpoint the edge moves to, or "" when it stays. Accepted only
 * when it is one of the hub endpoints the same request lists (a valid host:port) and not where the edge is now
 * (`current`: its configured endpoint and where the hub's packets come from).
 */
export function acceptedMove(sent: readonly string[], target: string, current: ReadonlyArray<string | undefined>): string {
  if (!target || !isEndpoint(target) || !sent.filter(isEndpoint).includes(target)) return "";
  return current.includes(target) ? "" : target;
}
