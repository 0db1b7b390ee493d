/** One peer as configured on a device. */
export interface PeerConfig {
  /** base64 public key. */
  publicKey: string;
  /** CIDRs routed to this peer (replaces the previous list on update). */
  allowedIps: string[];
  /** `host:port` or `[v6]:port`; host names are resolved once, when set. Omitted: the peer must initiate. */
  endpoint?: string;
  /** 0 or omitted: off. */
  persistentKeepaliveSeconds?: number;
}

/** One peer as reported by the device. */
export interface PeerStatus {
  publicKey: string;
  endpoint?: string;
  allowedIps: string[];
  /** Epoch milliseconds of the last completed handshake; 0 = never. */
  lastHandshakeMs: number;
  rxBytes: number;
  txBytes: number;
  persistentKeepaliveSeconds: number;
}
