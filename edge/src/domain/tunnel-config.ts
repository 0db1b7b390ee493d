import { ipv4InSubnet, isIPv4 } from "@daalu/runtime/pure";
import { create, fromJson, toJson, type JsonValue } from "@bufbuild/protobuf";
import { invitev1 } from "@daalu/proto";
import { isValidKey, publicKeyOf } from "@daalu/wireguard";

/**
 * The tunnel configuration the hub returns from POST /v1/bootstrap, and the
 * Secret that carries it (plus the edge's own key pair) from the bootstrap Job
 * to the run Deployment. The contract is proto's RedeemInviteResponse
 * (proto/daalu/invite/v1/invite.proto) in the protobuf JSON mapping: the
 * gateway writes it with toJson, the edge reads it with fromJson, and this
 * type is the generated message's fields.
 */
export type TunnelConfig = Omit<invitev1.RedeemInviteResponse, "$typeName" | "$unknown">;

/** The bootstrap request body, in the same mapping (RedeemInviteRequest). */
export function bootstrapRequestJson(token: string, publicKey: string): JsonValue {
  return toJson(invitev1.RedeemInviteRequestSchema, create(invitev1.RedeemInviteRequestSchema, { token, publicKey }));
}

/** The edge's WireGuard identity. The private key never leaves the cluster. */
export interface EdgeKeys {
  privateKey: string;
  publicKey: string;
}

/**
 * What the Secret holds. "pending" = the key pair is stored but the token not
 * yet redeemed (a Job restarted after a lost response retries with the same
 * key, which the hub replays idempotently); "complete" = ready for `run`.
 */
export type TunnelSecret = ({ state: "pending" } & EdgeKeys) | ({ state: "complete"; config: TunnelConfig } & EdgeKeys);

/** Thrown with every problem found, so one log line says all that is wrong. */
export class InvalidTunnelConfig extends Error {
  override name = "InvalidTunnelConfig";
  constructor(readonly problems: string[]) {
    super(problems.join("; "));
  }
}

const ENDPOINT_RE = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?):(\d{1,5})$/;
const ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** "host:port" with a port 1..65535 (a host name, an IPv4 address, or an IPv6 one in brackets). */
export function isEndpoint(e: string): boolean {
  const m = ENDPOINT_RE.exec(e);
  return !!m && Number(m[1]) >= 1 && Number(m[1]) <= 65_535;
}

/** Splits "a.b.c.d/n" (IPv4 only: tenant subnets are IPv4). */
export function parseCidr(cidr: string): { network: string; prefix: number } | undefined {
  const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d{1,2})$/.exec(cidr);
  if (!m || !isIPv4(m[1]!)) return undefined;
  const prefix = Number(m[2]);
  return prefix <= 32 ? { network: m[1]!, prefix } : undefined;
}

function inSubnet(ip: string, cidr: { network: string; prefix: number }): boolean {
  return ipv4InSubnet(ip, cidr.network, cidr.prefix);
}

/**
 * Reads the hub's answer (RedeemInviteResponse in the protobuf JSON mapping;
 * unknown fields ignored, so a newer hub may add some) and validates it.
 */
export function parseTunnelConfig(v: unknown): TunnelConfig {
  let msg: invitev1.RedeemInviteResponse;
  try {
    msg = fromJson(invitev1.RedeemInviteResponseSchema, (v ?? {}) as JsonValue, { ignoreUnknownFields: true });
  } catch (err) {
    throw new InvalidTunnelConfig([`not a RedeemInviteResponse: ${err instanceof Error ? err.message : String(err)}`]);
  }
  const { $typeName: _t, $unknown: _u, ...c } = msg;
  const problems: string[] = [];
  for (const k of ["tenantId", "clusterId", "clusterName", "tunnelIp", "subnet", "hubTunnelIp", "hubPublicKey", "hubEndpoint"] as const) if (c[k] === "") problems.push(`${k} is missing`);
  if (c.keepaliveSeconds > 65_535) problems.push("keepaliveSeconds must be an integer 0..65535");
  for (const k of ["tenantId", "clusterId"] as const) if (c[k] && !ID_RE.test(c[k])) problems.push(`${k} has unexpected characters`);
  const subnet = c.subnet ? parseCidr(c.subnet) : undefined;
  if (c.subnet && !subnet) problems.push(`subnet "${c.subnet}" is not an IPv4 CIDR`);
  for (const k of ["tunnelIp", "hubTunnelIp"] as const) {
    if (c[k] && !isIPv4(c[k])) problems.push(`${k} "${c[k]}" is not an IPv4 address`);
  }
  // The hub's address comes from its own pool (peering's PEERING_HUB_POOL), usually outside the subnet.
  if (c.tunnelIp && isIPv4(c.tunnelIp) && subnet && !inSubnet(c.tunnelIp, subnet)) problems.push(`tunnelIp ${c.tunnelIp} is outside the subnet ${c.subnet}`);
  if (c.tunnelIp && c.tunnelIp === c.hubTunnelIp) problems.push("tunnelIp equals hubTunnelIp");
  if (c.hubPublicKey && !isValidKey(c.hubPublicKey)) problems.push("hubPublicKey is not a WireGuard key");
  for (const e of [c.hubEndpoint, ...c.hubEndpoints]) {
    if (e && !isEndpoint(e)) problems.push(`hubEndpoint "${e}" is not host:port`);
  }
  if (problems.length > 0) throw new InvalidTunnelConfig(problems);
  return c;
}

/**
 * The address put on the interface: our IP alone (/32). The edge talks to the
 * hub only, so it needs no route to the rest of the subnet; the hub's /32 is
 * routed into the tunnel explicitly (hubRoute), wherever the hub's pool is.
 */
export function interfaceAddress(c: TunnelConfig): string {
  return `${c.tunnelIp}/32`;
}

/** The one route the edge adds through the tunnel: the hub's address. */
export function hubRoute(c: TunnelConfig): string {
  return `${c.hubTunnelIp}/32`;
}

/**
 * The hub peer's allowed IPs: only the hub's tunnel address. Cryptokey routing
 * then accepts packets from (and sends to) the hub alone, so one tenant's
 * edges never reach each other through this interface.
 */
export function hubAllowedIps(c: TunnelConfig): string[] {
  return [`${c.hubTunnelIp}/32`];
}

/** Splits the endpoint into host and port ("[::1]:51820" → "::1", 51820). */
export function splitEndpoint(endpoint: string): { host: string; port: number } {
  const i = endpoint.lastIndexOf(":");
  const host = endpoint.slice(0, i).replace(/^\[(.*)\]$/, "$1");
  return { host, port: Number(endpoint.slice(i + 1)) };
}

/** Secret data keys. Kubernetes stores them base64-encoded; these are the decoded strings. */
export const SECRET_KEYS = {
  state: "state",
  privateKey: "private-key",
  publicKey: "public-key",
  config: "tunnel.json",
} as const;

/** The Secret's `stringData`. The config travels as one JSON document, the keys as their own entries. */
export function encodeTunnelSecret(s: TunnelSecret): Record<string, string> {
  const d: Record<string, string> = {
    [SECRET_KEYS.state]: s.state,
    [SECRET_KEYS.privateKey]: s.privateKey,
    [SECRET_KEYS.publicKey]: s.publicKey,
  };
  if (s.state === "complete") d[SECRET_KEYS.config] = JSON.stringify(s.config, null, 2);
  return d;
}

/** Reads the Secret's decoded data; a malformed Secret is an error naming what is wrong. */
export function decodeTunnelSecret(data: Record<string, string>): TunnelSecret {
  const problems: string[] = [];
  const privateKey = data[SECRET_KEYS.privateKey] ?? "";
  const publicKey = data[SECRET_KEYS.publicKey] ?? "";
  if (!isValidKey(privateKey)) problems.push(`${SECRET_KEYS.privateKey} is missing or not a WireGuard key`);
  if (!isValidKey(publicKey)) problems.push(`${SECRET_KEYS.publicKey} is missing or not a WireGuard key`);
  else if (isValidKey(privateKey) && publicKeyOf(privateKey) !== publicKey) problems.push(`${SECRET_KEYS.publicKey} does not belong to ${SECRET_KEYS.privateKey}`);
  const state = data[SECRET_KEYS.state];
  if (state !== "pending" && state !== "complete") problems.push(`${SECRET_KEYS.state} must be "pending" or "complete", got "${state ?? ""}"`);
  if (state === "complete") {
    const raw = data[SECRET_KEYS.config];
    let parsed: unknown;
    try {
      parsed = raw === undefined ? undefined : JSON.parse(raw);
    } catch {
      problems.push(`${SECRET_KEYS.config} is not JSON`);
    }
    if (parsed === undefined && raw === undefined) problems.push(`${SECRET_KEYS.config} is missing`);
    else if (parsed !== undefined) {
      try {
        const config = parseTunnelConfig(parsed);
        if (problems.length === 0) return { state, privateKey, publicKey, config };
      } catch (err) {
        problems.push(...(err instanceof InvalidTunnelConfig ? err.problems : [String(err)]));
      }
    }
  }
  if (problems.length > 0) throw new InvalidTunnelConfig(problems);
  return { state: "pending", privateKey, publicKey };
}
