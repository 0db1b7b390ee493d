/**
 * The read-only parts of a cluster's overview (edge health, nodes, rollouts,
 * connection history, alerts, usage), each loaded on its own through
 * `useGet`, which the detail page also uses for the cluster itself.
 */
import { useEffect, useState, type ReactNode } from "react";
import { Button } from "react-aria-components";
import { api, ApiError, enc, messageOf, type Alert, type Cluster } from "../api";
import { useNow } from "../clock";
import { ago, apiTone, duration, openAlertCount, statusWords, tunnelTone } from "../format";
import { useLive } from "../live";
import { CopyBox } from "./AddCluster";
import { Dot, EdgeVersionBadge, StatusBadge } from "./Clusters";

type Loaded<T> = { data: T } | { error: string; missing?: boolean } | undefined;

/** GET `path` once per `key`; a 404/501 of an endpoint the hub does not have yet is "missing". */
export function useGet<T>(path: string, key: unknown = 0): Loaded<T> {
  const [state, setState] = useState<Loaded<T>>(undefined);
  useEffect(() => {
    const ctl = new AbortController();
    setState(undefined);
    api<T>("GET", path, undefined, { signal: ctl.signal })
      .then((data) => setState({ data }))
      .catch((e: unknown) => {
        if ((e as Error).name === "AbortError") return;
        setState({ error: messageOf(e), missing: e instanceof ApiError && e.reason === "ROUTE_NOT_FOUND" });
      });
    return () => ctl.abort();
  }, [path, key]);
  return state;
}

export function Section({ title, id, children }: { title: string; id: string; children: ReactNode }) {
  return (
    <section className="card" aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      {children}
    </section>
  );
}

function Loading<T>({ s, what, children }: { s: Loaded<T>; what: string; children(data: T): ReactNode }) {
  if (s === undefined) return <p role="status">Loading {what}…</p>;
  if ("error" in s) return <p className={s.missing ? "muted" : "error"}>{s.missing ? `This hub does not report ${what} yet.` : `Could not load ${what}: ${s.error}`}</p>;
  return <>{children(s.data)}</>;
}

interface EdgeHealth {
  version: string | null;
  uptimeSeconds: number | null;
  handshakeAgeSeconds: number | null;
  lastProbeAt: string | null;
  apiServer: string | null;
  apiReachable: boolean;
}
interface Node {
  name: string;
  ready: boolean;
  status: string;
  roles: string[];
  version: string;
  internalIp: string | null;
  createdAt: string | null;
}
interface Rollout {
  namespace?: string;
  name: string;
  state?: string;
  desired?: number;
  ready?: number;
  updated?: number;
  message?: string;
  [k: string]: unknown;
}
interface Transition {
  at: string;
  from: string;
  to: string;
  diagnostic: string | null;
}
interface UsageBucket {
  calls: number;
  errors: number;
  bytesIn: number;
  bytesOut: number;
}

export function EdgeSection({ c }: { c: Cluster }) {
  const now = useNow();
  const s = useGet<EdgeHealth>(`/v1/clusters/${enc(c.id)}/edge`, c.statusSince);
  return (
    <Section title="Edge health" id="edge-h">
      <dl className="facts">
        <dt>Status</dt>
        <dd>
          <StatusBadge c={c} />
        </dd>
        <dt>Tunnel</dt>
        <dd>
          <Dot tone={tunnelTone(c, now)} /> last handshake {ago(c.lastHandshake, now)}
        </dd>
        <dt>API server</dt>
        <dd>
          <Dot tone={apiTone(c)} /> {apiTone(c) === "grey" ? "not probed yet" : c.apiReachable ? "reachable" : "unreachable"}
        </dd>
        <dt>Tunnel IP</dt>
        <dd className="mono">{c.tunnelIp ?? "—"}</dd>
        <dt>Hub node</dt>
        <dd className="mono" data-testid="home-node">
          {c.homeNode ?? "—"}
        </dd>
        <dt>Edge version</dt>
        <dd>
          <span className="mono">{c.edgeVersion ?? "—"}</span>
          <EdgeVersionBadge c={c} />
          {c.updateAvailable && c.upgradeCommand && <CopyBox label="Upgrade command" text={c.upgradeCommand} testId="upgrade-command" />}
        </dd>
        <dt>In this state since</dt>
        <dd>{ago(c.statusSince, now)}</dd>
      </dl>
      <Loading s={s} what="the edge's own health">
        {(e) => (
          <dl className="facts">
            <dt>Uptime</dt>
            <dd>{e.uptimeSeconds !== null ? duration(e.uptimeSeconds) : "—"}</dd>
            <dt>Handshake age</dt>
            <dd>{e.handshakeAgeSeconds !== null ? duration(e.handshakeAgeSeconds) : "—"}</dd>
            <dt>Last probe</dt>
            <dd>{ago(e.lastProbeAt, now)}</dd>
            <dt>API server it talks to</dt>
            <dd className="mono">{e.apiServer ?? "—"}</dd>
          </dl>
        )}
      </Loading>
    </Section>
  );
}

export function NodesSection({ c }: { c: Cluster }) {
  const [key, setKey] = useState(0);
  const s = useGet<{ nodes: Node[] }>(`/v1/clusters/${enc(c.id)}/queries/nodes`, `${key}:${c.status}`);
  return (
    <Section title="Nodes" id="nodes-h">
      <Loading s={s} what="the nodes">
        {({ nodes }) =>
          nodes.length === 0 ? (
            <p className="muted">The cluster reports no nodes.</p>
          ) : (
            <table className="plain" data-testid="nodes">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Ready</th>
                  <th scope="col">Roles</th>
                  <th scope="col">Version</th>
                  <th scope="col">Internal IP</th>
                </tr>
              </thead>
              <tbody>
                {nodes.map((n) => (
                  <tr key={n.name}>
                    <td>{n.name}</td>
                    <td>
                      <Dot tone={n.ready ? "green" : "red"} /> {n.status || (n.ready ? "Ready" : "NotReady")}
                    </td>
                    <td>{n.roles.join(", ") || "—"}</td>
                    <td className="mono">{n.version}</td>
                    <td className="mono">{n.internalIp ?? "—"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Loading>
      <Button className="btn btn-plain btn-small" onPress={() => setKey((k) => k + 1)}>
        Refresh nodes
      </Button>
    </Section>
  );
}

export function RolloutsSection({ c }: { c: Cluster }) {
  const s = useGet<{ rollouts: Rollout[] }>(`/v1/clusters/${enc(c.id)}/queries/rollouts`, c.status);
  return (
    <Section title="Recent rollouts" id="rollouts-h">
      <Loading s={s} what="the recent rollouts">
        {({ rollouts }) =>
          rollouts.length === 0 ? (
            <p className="muted">No recent rollouts.</p>
          ) : (
            <table className="plain">
              <thead>
                <tr>
                  <th scope="col">Deployment</th>
                  <th scope="col">State</th>
                  <th scope="col">Ready</th>
                  <th scope="col">Message</th>
                </tr>
              </thead>
              <tbody>
                {rollouts.map((r) => (
                  <tr key={`${r.namespace ?? ""}/${r.name}`}>
                    <td>
                      {r.namespace ? `${r.namespace}/` : ""}
                      {r.name}
                    </td>
                    <td>{r.state ?? "—"}</td>
                    <td>{r.desired !== undefined ? `${r.ready ?? 0}/${r.desired}` : "—"}</td>
                    <td>{r.message ?? ""}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Loading>
    </Section>
  );
}

export function HistorySection({ c }: { c: Cluster }) {
  const s = useGet<{ transitions: Transition[] }>(`/v1/clusters/${enc(c.id)}/history`, c.statusSince);
  return (
    <Section title="Connection history" id="history-h">
      <Loading s={s} what="the connection history">
        {({ transitions }) =>
          transitions.length === 0 ? (
            <p className="muted">No state changes yet.</p>
          ) : (
            <ol className="timeline">
              {transitions.map((t) => (
                <li key={`${t.at}-${t.to}`}>
                  <time dateTime={t.at}>{new Date(t.at).toLocaleString()}</time> {statusWords(t.from)} → <strong>{statusWords(t.to)}</strong>
                  {t.diagnostic && <div className="muted mono wrap">{t.diagnostic}</div>}
                </li>
              ))}
            </ol>
          )
        }
      </Loading>
    </Section>
  );
}

export function AlertsSection({ c }: { c: Cluster }) {
  const live = useLive();
  const pushed = live.alerts.filter((a) => a.clusterId === c.id).length;
  const s = useGet<{ alerts: Alert[] }>(`/v1/clusters/${enc(c.id)}/alerts`, `${c.statusSince}:${pushed}:${openAlertCount(c)}`);
  return (
    <Section title="Alerts" id="alerts-h">
      <Loading s={s} what="the alerts">
        {({ alerts }) =>
          alerts.length === 0 ? (
            <p className="muted">No alerts.</p>
          ) : (
            <ul className="alerts">
              {alerts.map((a) => (
                <li key={a.id} className={a.resolvedAt ? "resolved" : "open"}>
                  <span className="badge badge-alert">{a.resolvedAt ? "resolved" : (a.severity ?? "open")}</span> {a.summary ?? a.message ?? ""}{" "}
                  <span className="muted">
                    {a.openedAt ? `opened ${new Date(a.openedAt).toLocaleString()}` : ""}
                    {a.resolvedAt ? `, resolved ${new Date(a.resolvedAt).toLocaleString()}` : ""}
                  </span>
                </li>
              ))}
            </ul>
          )
        }
      </Loading>
    </Section>
  );
}

export function UsageSection({ c }: { c: Cluster }) {
  const [to] = useState(() => new Date(Math.ceil(Date.now() / 3_600_000) * 3_600_000));
  const from = new Date(to.getTime() - 7 * 86_400_000);
  const s = useGet<{ total: UsageBucket }>(`/v1/usage?granularity=day&clusterId=${enc(c.id)}&from=${from.toISOString()}&to=${to.toISOString()}`);
  return (
    <Section title="Usage (last 7 days)" id="usage-h">
      <p className="muted">Tunnel operations are the pricing basis.</p>
      <Loading s={s} what="the usage">
        {({ total }) => (
          <dl className="facts">
            <dt>Tunnel operations</dt>
            <dd data-testid="usage-calls">{total.calls}</dd>
            <dt>Failed</dt>
            <dd>{total.errors}</dd>
            <dt>Bytes through the tunnel</dt>
            <dd>{(total.bytesIn + total.bytesOut).toLocaleString()}</dd>
          </dl>
        )}
      </Loading>
    </Section>
  );
}
