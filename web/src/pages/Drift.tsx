/**
 * Drift detection in the app: Settings → Clusters → Reconciliation (on or
 * off per cluster, admin; check now, operator) and a cluster's Drift tab (the
 * desired state it is compared with, the latest report object by object, the
 * patch from live to desired). The REST API is the drift service's
 * (`/v1/clusters/:id/reconciliation|desired-state|drift|drift/check`); a
 * cluster whose detection is off is never read through the tunnel.
 */
import { useEffect, useState } from "react";
import { Button, Label, Link, Switch, TextArea, TextField } from "react-aria-components";
import { api, ApiError, enc, may, messageOf, type Cluster } from "../api";
import { useNow } from "../clock";
import { ago } from "../format";
import { useLive } from "../live";
import { useSession } from "../session";
import { ErrorLine } from "../ui";
import { Section, useGet } from "./ClusterSections";
import { SettingsNav } from "./SubnetSettings";

interface Reconciliation {
  enabled: boolean;
  intervalSeconds: number;
  ignore: { kind: string; name: string | null; namespace: string | null; pointers: string[] }[];
  updatedBy: string | null;
  updatedAt: string | null;
}

interface DriftObject {
  apiVersion: string;
  kind: string;
  namespace: string | null;
  name: string;
  state: "in_sync" | "modified" | "missing" | "unknown" | (string & {});
  patch: unknown;
  error: string | null;
  scope: string | null;
}

interface DriftReport {
  bundleVersion: number;
  trigger: string;
  lastChecked: string | null;
  drifted: boolean;
  summary: { inSync: number; modified: number; missing: number; unknown: number };
  objects: DriftObject[];
}

interface Bundle {
  version: number;
  objectCount: number;
  uploadedBy: string;
  uploadedAt: string | null;
}

const DEFAULT_INTERVAL_S = 300;

/** The latest report, or null before the first check (404 DRIFT_REPORT_NOT_FOUND). */
async function latestReport(clusterId: string): Promise<DriftReport | null> {
  try {
    return await api<DriftReport>("GET", `/v1/clusters/${enc(clusterId)}/drift`);
  } catch (e) {
    if (e instanceof ApiError && e.reason === "DRIFT_REPORT_NOT_FOUND") return null;
    throw e;
  }
}

/** The cluster's latest report: undefined while loading, null before the first check; set again by Check now. */
function useLatestReport(clusterId: string) {
  const [report, setReport] = useState<DriftReport | null | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    latestReport(clusterId)
      .then(setReport)
      .catch((e: unknown) => setError(messageOf(e)));
  }, [clusterId]);
  return { report, setReport, error };
}

function Summary({ r }: { r: DriftReport | null }) {
  const now = useNow();
  if (!r) return <span className="muted">never checked</span>;
  const s = r.summary;
  return (
    <span data-testid="drift-summary" data-drifted={String(r.drifted)}>
      {r.drifted ? <span className="badge badge-alert">drifted</span> : <span className="badge badge-info">in sync</span>} {s.inSync} in sync
      {s.modified > 0 && `, ${s.modified} modified`}
      {s.missing > 0 && `, ${s.missing} missing`}
      {s.unknown > 0 && `, ${s.unknown} unknown`} · checked {ago(r.lastChecked, now)}
    </span>
  );
}

/** Detection on/off (admin), check now (operator), and the latest summary, for one cluster. */
function DriftControls({ c, report, onReport }: { c: Cluster; report: DriftReport | null | undefined; onReport(r: DriftReport): void }) {
  const { user } = useSession();
  const [settings, setSettings] = useState<Reconciliation | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    api<Reconciliation>("GET", `/v1/clusters/${enc(c.id)}/reconciliation`)
      .then(setSettings)
      .catch((e: unknown) => setError(messageOf(e)));
  }, [c.id]);
  const act = (p: Promise<void>) => {
    setBusy(true);
    setError(null);
    p.catch((e: unknown) => setError(messageOf(e))).finally(() => setBusy(false));
  };
  return (
    <div className="drift-controls" data-cluster-id={c.id}>
      {settings === null ? (
        <span role="status">Reading…</span>
      ) : (
        <Switch
          className="switch"
          isSelected={settings.enabled}
          isDisabled={!may(user?.role, "admin") || busy}
          onChange={(enabled) =>
            act(
              api<Reconciliation>("PUT", `/v1/clusters/${enc(c.id)}/reconciliation`, { enabled, intervalSeconds: settings.intervalSeconds, ignore: settings.ignore.map((x) => ({ kind: x.kind, pointers: x.pointers, ...(x.name ? { name: x.name } : {}), ...(x.namespace ? { namespace: x.namespace } : {}) })) }).then(setSettings),
            )
          }
        >
          <span className="track" aria-hidden="true" />
          Drift detection for {c.name}: {settings.enabled ? `on, every ${Math.round((settings.intervalSeconds || DEFAULT_INTERVAL_S) / 60)} min` : "off"}
        </Switch>
      )}{" "}
      {report !== undefined && <Summary r={report} />}{" "}
      {may(user?.role, "operator") && settings?.enabled && (
        <Button
          className="btn btn-plain btn-small"
          isDisabled={busy}
          onPress={() =>
            act(
              api<DriftReport>("POST", `/v1/clusters/${enc(c.id)}/drift/check`).then(onReport),
            )
          }
        >
          Check now
        </Button>
      )}
      <ErrorLine error={error} />
    </div>
  );
}

function ClusterDrift({ c }: { c: Cluster }) {
  const { report, setReport, error } = useLatestReport(c.id);
  return (
    <>
      <DriftControls c={c} report={report} onReport={setReport} />
      <ErrorLine error={error} />
    </>
  );
}

/** Settings → Clusters → Reconciliation: every cluster of the tenant. */
export function ReconciliationPage() {
  const live = useLive();
  useEffect(() => {
    document.title = "Reconciliation · Daalu Federation";
  }, []);
  const clusters = [...live.clusters.values()].sort((a, b) => a.name.localeCompare(b.name));
  return (
    <section className="card" aria-labelledby="recon-title">
      <h1 id="recon-title">Settings → Clusters → Reconciliation</h1>
      <SettingsNav />
      <p>
        Drift detection compares a cluster with the desired state uploaded for it (on its Drift tab) and reports what differs. It is off until an
        admin turns it on; while off, nothing is read through the tunnel. Each read is an audit row of <span className="mono">agent:reconciler</span>.
      </p>
      {!live.loaded && <p role="status">Loading the clusters…</p>}
      {live.loaded && clusters.length === 0 && <p className="muted">No clusters yet.</p>}
      <ul className="plain-list">
        {clusters.map((c) => (
          <li key={c.id}>
            <Link href={`/clusters/${enc(c.id)}/drift`}>{c.name}</Link>
            <ClusterDrift c={c} />
          </li>
        ))}
      </ul>
    </section>
  );
}

const objectName = (o: DriftObject) => `${o.kind} ${o.namespace ? `${o.namespace}/` : ""}${o.name}`;

function ReportTable({ r, clusterId }: { r: DriftReport; clusterId: string }) {
  const shown = r.objects.filter((o) => o.state !== "in_sync");
  if (shown.length === 0) return <p data-testid="drift-clean">Every object of desired state version {r.bundleVersion} is in sync.</p>;
  return (
    <table className="plain" aria-label="Objects that differ">
      <thead>
        <tr>
          <th scope="col">Object</th>
          <th scope="col">State</th>
          <th scope="col">From live to desired</th>
        </tr>
      </thead>
      <tbody>
        {shown.map((o) => (
          <tr key={`${o.apiVersion}/${objectName(o)}`} data-state={o.state}>
            <td className="mono">{objectName(o)}</td>
            <td>{o.state}</td>
            <td>
              {o.patch !== null && <pre className="copytext">{JSON.stringify(o.patch, null, 1)}</pre>}
              {o.error && <p>{o.error}</p>}
              {o.scope && (
                <p>
                  To read it, {o.scope}: <Link href={`/settings/clusters/${enc(clusterId)}/rbac`}>the cluster&apos;s RBAC</Link>.
                </p>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function DesiredState({ c }: { c: Cluster }) {
  const { user } = useSession();
  const [key, setKey] = useState(0);
  const current = useGet<{ bundle: Bundle | null }>(`/v1/clusters/${enc(c.id)}/desired-state`, key);
  const [yaml, setYaml] = useState("");
  const [error, setError] = useState<string | null>(null);
  const now = useNow();
  const b = current && "data" in current ? current.data.bundle : null;
  return (
    <Section title="Desired state" id="desired-h">
      {current && "error" in current && !/not found/i.test(current.error) && <ErrorLine error={current.error} />}
      {b ? (
        <p data-testid="desired-version">
          Version {b.version}: {b.objectCount} objects, uploaded by {b.uploadedBy} {ago(b.uploadedAt, now)}.
        </p>
      ) : (
        <p className="muted">No desired state has been uploaded for {c.name}.</p>
      )}
      {may(user?.role, "admin") && (
        <>
          <TextField className="field" value={yaml} onChange={setYaml}>
            <Label>Manifests (YAML, several documents; Secret values are kept only as hashes)</Label>
            <TextArea rows={8} className="mono" spellCheck={false} />
          </TextField>
          <ErrorLine error={error} />
          <Button
            className="btn btn-plain"
            isDisabled={yaml.trim() === ""}
            onPress={() => {
              setError(null);
              api("PUT", `/v1/clusters/${enc(c.id)}/desired-state`, yaml, { contentType: "application/yaml" })
                .then(() => {
                  setYaml("");
                  setKey((k) => k + 1);
                })
                .catch((e: unknown) => setError(messageOf(e)));
            }}
          >
            Upload as the next version
          </Button>
        </>
      )}
    </Section>
  );
}

/** A cluster's Drift tab. */
export function DriftTab({ c }: { c: Cluster }) {
  const { report, setReport, error } = useLatestReport(c.id);
  return (
    <>
      <Section title="Drift detection" id="drift-h">
        <DriftControls c={c} report={report} onReport={setReport} />
        <ErrorLine error={error} />
        {report === undefined && !error && <p role="status">Loading the latest report…</p>}
        {report && <ReportTable r={report} clusterId={c.id} />}
      </Section>
      <DesiredState c={c} />
    </>
  );
}
