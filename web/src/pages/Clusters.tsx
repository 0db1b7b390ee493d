/**
 * Managed Infra → Clusters: one row per cluster, live (live.tsx), filtered by
 * name and status, sorted by a column, virtualised (only the rows in view are
 * in the DOM, so 1,000 clusters scroll like 10). The DOM contract the UI bench
 * and the browser test read: the table's `data-total` is the number of rows it
 * holds (after the filters; only some are in the DOM), and each row has
 * `data-cluster-id` and `data-status`.
 */
import { lazy, Suspense, useEffect, useMemo, useRef, useState } from "react";
import { Button, Focusable, Input, Label, Link, SearchField, Tooltip, TooltipTrigger } from "react-aria-components";
import { useNavigate, useSearchParams } from "react-router";
import { useVirtualizer } from "@tanstack/react-virtual";
import { may, type Cluster } from "../api";
import { useNow } from "../clock";
import { ago, apiTone, openAlertCount, statusTone, statusWords, tunnelTone, type Tone } from "../format";
import { useLive } from "../live";
import { useSession } from "../session";
import { Choice } from "../ui";

// The wizard (dialog, form, invite panel) is its own chunk: the list does not wait for it.
const AddClusterDialog = lazy(() => import("./AddCluster").then((m) => ({ default: m.AddClusterDialog })));

type SortKey = "name" | "status" | "handshake" | "ip";
const STATUS_ORDER: Record<string, number> = { error: 0, disconnected: 1, awaiting_handshake: 2, pending_enrollment: 3, connected: 4 };
const STATUS_FILTERS = [
  { id: "all", name: "All statuses" },
  { id: "connected", name: "Connected" },
  { id: "awaiting_handshake", name: "Awaiting handshake" },
  { id: "disconnected", name: "Disconnected" },
  { id: "error", name: "Error" },
];
const ROW_HEIGHT = 44;
const COLUMNS: { label: string; className: string; sort?: SortKey }[] = [
  { label: "Status", className: "col-status", sort: "status" },
  { label: "Name", className: "col-name", sort: "name" },
  { label: "Tunnel", className: "col-ind" },
  { label: "API", className: "col-ind" },
  { label: "Tunnel IP", className: "col-ip", sort: "ip" },
  { label: "Last handshake", className: "col-hs", sort: "handshake" },
  { label: "Edge version", className: "col-edge" },
  { label: "Alerts", className: "col-alerts" },
];

function compare(key: SortKey): (a: Cluster, b: Cluster) => number {
  switch (key) {
    case "status":
      return (a, b) => (STATUS_ORDER[a.status] ?? 9) - (STATUS_ORDER[b.status] ?? 9) || a.name.localeCompare(b.name);
    case "handshake":
      return (a, b) => (b.lastHandshake ? Date.parse(b.lastHandshake) : 0) - (a.lastHandshake ? Date.parse(a.lastHandshake) : 0) || a.name.localeCompare(b.name);
    case "ip":
      return (a, b) => ipNum(a.tunnelIp) - ipNum(b.tunnelIp);
    default:
      return (a, b) => a.name.localeCompare(b.name);
  }
}

function ipNum(ip: string | null): number {
  if (!ip) return Number.MAX_SAFE_INTEGER;
  return ip.split(".").reduce((n, p) => n * 256 + Number(p), 0);
}

export function Dot({ tone, label }: { tone: Tone; label?: string }) {
  return <span className={`dot dot-${tone}`} role={label ? "img" : undefined} aria-label={label} aria-hidden={label ? undefined : true} />;
}

/**
 * How the edge's version stands against the hub's releases: "update available:
 * <latest>", or "unsupported" for an edge older than the oldest supported one
 * (its diagnostic says how to upgrade); nothing when it is current or unknown.
 */
export function EdgeVersionBadge({ c }: { c: Cluster }) {
  const to = c.latestEdgeVersion ? `: ${c.latestEdgeVersion}` : "";
  if (c.edgeSupport === "unsupported") return <span className="badge badge-alert">unsupported, upgrade{to}</span>;
  if (c.updateAvailable) return <span className="badge badge-info">update available{to}</span>;
  return null;
}

/** The status with its diagnostic as a tooltip (focusable, so keyboard users get it too). */
export function StatusBadge({ c }: { c: Cluster }) {
  return (
    <TooltipTrigger delay={300}>
      <Focusable>
        <span className="status" role="button" tabIndex={0} aria-label={`${statusWords(c.status)}: ${c.diagnostic ?? "no diagnostic yet"}`}>
          <Dot tone={statusTone(c.status)} />
          {statusWords(c.status)}
        </span>
      </Focusable>
      <Tooltip className="tooltip" placement="bottom start">
        {c.diagnostic ?? "No diagnostic yet."}
      </Tooltip>
    </TooltipTrigger>
  );
}

function Row({ c, now, index, start, fresh }: { c: Cluster; now: number; index: number; start: number; fresh: boolean }) {
  const navigate = useNavigate();
  const alerts = openAlertCount(c);
  const tTone = tunnelTone(c, now);
  const aTone = apiTone(c);
  return (
    <div
      role="row"
      aria-rowindex={index + 2}
      className={`row${fresh ? " row-fresh" : ""}`}
      data-cluster-id={c.id}
      data-status={c.status}
      style={{ transform: `translateY(${start}px)` }}
      onClick={(e) => {
        if ((e.target as HTMLElement).closest("a,button,[role=button]")) return;
        void navigate(`/clusters/${encodeURIComponent(c.id)}`);
      }}
    >
      <div role="cell" className="col-status">
        <StatusBadge c={c} />
      </div>
      <div role="cell" className="col-name">
        <Link href={`/clusters/${encodeURIComponent(c.id)}`}>{c.name}</Link>
      </div>
      <div role="cell" className="col-ind">
        <span className="indicator" title={undefined}>
          <Dot tone={tTone} />
          <span>Tunnel {tTone === "green" ? "up" : tTone === "red" ? "down" : tTone === "amber" ? "waiting" : "—"}</span>
        </span>
      </div>
      <div role="cell" className="col-ind">
        <span className="indicator">
          <Dot tone={aTone} />
          <span>API {aTone === "green" ? "reachable" : aTone === "red" ? "unreachable" : "—"}</span>
        </span>
      </div>
      <div role="cell" className="col-ip mono">
        {c.tunnelIp ?? "—"}
      </div>
      <div role="cell" className="col-hs">
        <time dateTime={c.lastHandshake ?? undefined}>{ago(c.lastHandshake, now)}</time>
      </div>
      <div role="cell" className="col-edge">
        <span className="mono">{c.edgeVersion ?? "—"}</span>
        <EdgeVersionBadge c={c} />
      </div>
      <div role="cell" className="col-alerts">
        {alerts > 0 ? <span className="badge badge-alert">{alerts === 1 ? "1 alert" : `${alerts} alerts`}</span> : <span className="muted">none</span>}
      </div>
    </div>
  );
}

function SortHeader({ k, label, sort, setSort, className }: { k: SortKey; label: string; sort: SortKey; setSort: (k: SortKey) => void; className: string }) {
  return (
    <div role="columnheader" className={className} aria-sort={sort === k ? "ascending" : "none"}>
      <Button className="sort" onPress={() => setSort(k)}>
        {label}
        {sort === k ? " ▲" : ""}
      </Button>
    </div>
  );
}

export function ClustersPage() {
  const live = useLive();
  const { user } = useSession();
  const now = useNow();
  const [params, setParams] = useSearchParams();
  const q = params.get("q") ?? "";
  const statusFilter = params.get("status") ?? "all";
  const sort = (params.get("sort") as SortKey | null) ?? "name";
  const [fresh, setFresh] = useState<string | null>(null);
  const [announce, setAnnounce] = useState("");
  const scrollRef = useRef<HTMLDivElement>(null);

  useEffect(() => {
    document.title = "Clusters · Daalu Federation";
  }, []);

  const set = (k: string, v: string, dflt: string) =>
    setParams(
      (p) => {
        const n = new URLSearchParams(p);
        if (v === dflt) n.delete(k);
        else n.set(k, v);
        return n;
      },
      { replace: true },
    );

  const rows = useMemo(() => {
    const needle = q.trim().toLowerCase();
    const list = [...live.clusters.values()].filter((c) => (!needle || c.name.toLowerCase().includes(needle)) && (statusFilter === "all" || c.status === statusFilter));
    return list.sort(compare(sort));
  }, [live.clusters, q, statusFilter, sort]);

  const virt = useVirtualizer({ count: rows.length, getScrollElement: () => scrollRef.current, estimateSize: () => ROW_HEIGHT, overscan: 10 });

  const counts = useMemo(() => {
    const n: Record<string, number> = {};
    for (const c of live.clusters.values()) n[c.status] = (n[c.status] ?? 0) + 1;
    return n;
  }, [live.clusters]);

  return (
    <section aria-labelledby="clusters-h">
      <div className="page-head">
        <h1 id="clusters-h">Clusters</h1>
        <p className="muted summary" aria-live="polite">
          {live.loaded && !live.error ? `${live.clusters.size} ${live.clusters.size === 1 ? "cluster" : "clusters"} · ${counts.connected ?? 0} connected · ${(counts.disconnected ?? 0) + (counts.error ?? 0)} down` : ""}
        </p>
        {may(user?.role, "admin") && (
          <Suspense fallback={null}>
            <AddClusterDialog
              onConnected={(c) => {
                setFresh(c.id);
                setAnnounce(`${c.name} is connected.`);
              }}
            />
          </Suspense>
        )}
      </div>
      <p className="visually-hidden" role="status">
        {announce}
      </p>
      <div className="toolbar">
        <SearchField className="field search" value={q} onChange={(v) => set("q", v, "")} aria-label="Search clusters by name">
          <Label>Search by name</Label>
          <Input placeholder="e.g. prod" />
        </SearchField>
        <Choice label="Status" items={STATUS_FILTERS} value={statusFilter} onChange={(v) => set("status", v, "all")} />
      </div>

      {!live.loaded && (
        <p className="state" role="status">
          Loading clusters…
        </p>
      )}
      {live.loaded && live.error && (
        <div className="state error" role="alert">
          <p>The clusters could not be loaded: {live.error}</p>
          <Button className="btn btn-plain" onPress={live.reload}>
            Try again
          </Button>
        </div>
      )}
      {live.loaded && !live.error && live.clusters.size === 0 && (
        <div className="state empty">
          <p>No clusters yet.</p>
          <p className="muted">{may(user?.role, "admin") ? "Add cluster gives you a helm command to run in the cluster; its row turns green here by itself." : "An admin adds clusters; they appear here as soon as they do."}</p>
        </div>
      )}
      {live.loaded && !live.error && live.clusters.size > 0 && rows.length === 0 && (
        <div className="state empty">
          <p>No cluster matches these filters.</p>
          <Button
            className="btn btn-plain"
            onPress={() => setParams(new URLSearchParams(), { replace: true })}
          >
            Clear filters
          </Button>
        </div>
      )}
      {live.loaded && !live.error && rows.length > 0 && (
        <div className="table" role="table" aria-label="Clusters" aria-rowcount={rows.length + 1} data-total={rows.length}>
          <div role="rowgroup" className="thead">
            <div role="row" aria-rowindex={1} className="row head">
              {COLUMNS.map((col) =>
                col.sort ? (
                  <SortHeader key={col.label} k={col.sort} label={col.label} sort={sort} setSort={(k) => set("sort", k, "name")} className={col.className} />
                ) : (
                  <div key={col.label} role="columnheader" className={col.className}>
                    {col.label}
                  </div>
                ),
              )}
            </div>
          </div>
          <div role="rowgroup" className="tbody" ref={scrollRef}>
            <div className="tbody-inner" style={{ height: virt.getTotalSize() }}>
              {virt.getVirtualItems().map((v) => {
                const c = rows[v.index]!;
                return <Row key={c.id} c={c} now={now} index={v.index} start={v.start} fresh={fresh === c.id} />;
              })}
            </div>
          </div>
        </div>
      )}
    </section>
  );
}
