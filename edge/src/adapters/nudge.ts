import { connect } from "node:net";

/**
 * The port a nudge knocks on: TCP discard. Nothing listens there on the hub,
 * so its kernel answers the SYN with a RST (any answer will do: the point is
 * that bytes come back through the tunnel).
 */
export const NUDGE_PORT = 9;

/**
 * Sends one TCP SYN from `tunnelIp` to the hub's tunnel address through the
 * tunnel and forgets it: refused, accepted or timed out, the socket is
 * destroyed after `timeoutMs` at the latest, so SYN retries never pile up.
 * Only called while the hub /32 is routed into the tunnel (the agent adds that
 * route before the peer), never towards any other address.
 */
export function nudgeHub(hubTunnelIp: string, tunnelIp: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const s = connect({ host: hubTunnelIp, port: NUDGE_PORT, localAddress: tunnelIp });
    const done = () => {
      clearTimeout(timer);
      s.destroy();
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    s.once("connect", done);
    s.once("error", done);
  });
}
