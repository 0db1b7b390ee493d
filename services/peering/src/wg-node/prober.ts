/** EdgeService.GetStatus through the tunnel, one cached gRPC channel per edge. */
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { CallerKind, edgev1 } from "@daalu/proto";
import type { RbacReport } from "./rbac-reports.js";
import { grpcClient, type MethodsOf, type ServiceClient } from "@daalu/runtime";

export interface ProbeReport {
  ok: boolean;
  error: string;
  at: number;
  edgeVersion: string;
  kubernetesVersion: string;
  nodeCount: number;
  nodesReady: number;
  latencyMs: number;
  /** The proxy account's rules, when the edge reported them (older edges do not). */
  rbac?: RbacReport;
}

type EdgeClient = ServiceClient<MethodsOf<typeof edgev1.EdgeService>> & { close(): void };

export class EdgeProber {
  private readonly clients = new Map<string, EdgeClient>();

  constructor(
    private readonly port: number,
    private readonly timeoutMs: number,
  ) {}

  private client(ip: string): EdgeClient {
    let c = this.clients.get(ip);
    if (!c) {
      c = grpcClient(`${ip}:${this.port}`, edgev1.EdgeService, {
        defaults: { caller: { kind: CallerKind.SERVICE, id: "peering" }, timeoutMs: this.timeoutMs },
        // A tunnel that comes back must be probed at once, not after a long reconnect backoff.
        channelOptions: { "grpc.initial_reconnect_backoff_ms": 250, "grpc.max_reconnect_backoff_ms": 1000 },
      }) as EdgeClient;
      this.clients.set(ip, c);
    }
    return c;
  }

  /** `hubEndpoints`: every hub node's endpoint, so the edge learns them (older edges ignore the field). */
  async probe(ip: string, hubEndpoints: string[] = []): Promise<ProbeReport> {
    const start = Date.now();
    try {
      const r = await this.client(ip).getStatus({ hubEndpoints });
      return {
        ok: r.apiReachable,
        error: r.apiReachable ? "" : r.apiError || "the edge reports the Kubernetes API unreachable",
        at: Date.now(),
        edgeVersion: r.edgeVersion,
        kubernetesVersion: r.kubernetesVersion,
        nodeCount: r.nodeCount,
        nodesReady: r.nodesReady,
        latencyMs: Date.now() - start,
        ...(r.effectiveRulesAt ? { rbac: { rules: r.effectiveRules.map(ruleOf), incomplete: r.effectiveRulesIncomplete, error: r.effectiveRulesError, at: timestampDate(r.effectiveRulesAt) } } : {}),
      };
    } catch (err) {
      // A fresh channel next time: grpc-js may sit in backoff after a failure.
      this.forget(ip);
      return {
        ok: false,
        error: `edge status call to ${ip}:${this.port} failed: ${(err as Error).message}`,
        at: Date.now(),
        edgeVersion: "",
        kubernetesVersion: "",
        nodeCount: 0,
        nodesReady: 0,
        latencyMs: Date.now() - start,
      };
    }
  }

  /**
   * Rebalancing: asks the edge to move its tunnel to `to` (GetStatusRequest.move_to_endpoint). True only when the
   * edge confirmed it (moving_to_endpoint); an older edge ignores the field and a failed call confirms nothing.
   */
  async requestMove(ip: string, hubEndpoints: string[], to: string): Promise<boolean> {
    try {
      const r = await this.client(ip).getStatus({ hubEndpoints, moveToEndpoint: to });
      return r.movingToEndpoint === to;
    } catch {
      this.forget(ip);
      return false;
    }
  }

  forget(ip: string): void {
    this.clients.get(ip)?.close();
    this.clients.delete(ip);
  }

  close(): void {
    for (const ip of [...this.clients.keys()]) this.forget(ip);
  }
}

function ruleOf(r: edgev1.ResourceRule) {
  return { apiGroups: r.apiGroups, resources: r.resources, verbs: r.verbs, ...(r.resourceNames.length > 0 ? { resourceNames: r.resourceNames } : {}) };
}
