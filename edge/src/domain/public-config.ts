import { hubAllowedIps, interfaceAddress, type TunnelConfig } from "./tunnel-config.js";

/**
 * The public half of the tunnel, written by the bootstrap Job to a ConfigMap
 * beside the Secret, so that `kubectl get configmap … -o yaml` shows a
 * customer's security team the whole tunnel without any secret: where the
 * edge dials, whom it trusts, which address it has and what it lets in.
 * Only public values: never the private key, never the token.
 */
export const PUBLIC_CONFIG_KEYS = {
  hubEndpoint: "hub-endpoint",
  hubEndpoints: "hub-endpoints",
  hubPublicKey: "hub-public-key",
  address: "address",
  publicKey: "public-key",
  keepalive: "persistent-keepalive",
  allowedIps: "allowed-ips",
} as const;

/**
 * The ConfigMap's data. `keepaliveSeconds` is the chart's override
 * (EDGE_KEEPALIVE) when set, as the agent applies it; else the hub's.
 */
export function publicTunnelConfig(config: TunnelConfig, publicKey: string, keepaliveSeconds?: number): Record<string, string> {
  const k = PUBLIC_CONFIG_KEYS;
  return {
    [k.hubEndpoint]: config.hubEndpoint,
    // Every hub node, in the order the agent tries them when the hub goes silent.
    [k.hubEndpoints]: (config.hubEndpoints.length > 0 ? config.hubEndpoints : [config.hubEndpoint]).join(","),
    [k.hubPublicKey]: config.hubPublicKey,
    [k.address]: interfaceAddress(config),
    [k.publicKey]: publicKey,
    [k.keepalive]: String(keepaliveSeconds ?? config.keepaliveSeconds),
    [k.allowedIps]: hubAllowedIps(config).join(","),
  };
}
