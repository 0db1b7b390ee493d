/**
 * Settings → Clusters → <name> → RBAC: what the edge's proxy account may do
 * in the cluster, per named scope — asked for (the last patch an admin
 * generated) against granted (the rules the edge reports) — and, for an
 * admin, the patch that widens it. The hub never applies anything: the page
 * hands out the `helm upgrade` command (or the ClusterRole manifest) for the
 * customer to run, and shows the change once the edge reports it.
 */
import { useEffect, useState } from "react";
import { Button, Checkbox, CheckboxGroup, Input, Label, Link, Radio, RadioGroup, TextField } from "react-aria-components";
import { useParams } from "react-router";
import { api, enc, may, messageOf } from "../api";
import { ago } from "../format";
import { useNow } from "../clock";
import { useLive } from "../live";
import { useSession } from "../session";
import { ErrorLine } from "../ui";
import { CopyBox } from "./AddCluster";
import { useGet } from "./ClusterSections";

interface ScopeRow {
  name: string;
  description: string;
  includesSecrets: boolean;
  requested: boolean;
  effective: "granted" | "missing" | "unknown";
}

interface RbacState {
  clusterId: string;
  scopes: ScopeRow[];
  applied: boolean;
  confirmedAt: string | null;
  requested: { scopes: string[]; at: string | null; by: string } | null;
  effective: { source: "edge" | "stored"; at: string | null; incomplete: boolean; error: string | null; liveError: string | null };
}

interface Patch {
  scopes: { name: string; includesSecrets: boolean }[];
  includesSecrets: boolean;
  manifest: string;
  values: string;
  helmCommand: string;
}

/** The chart's presets, each including the one before; `nodes-namespaces` comes with all of them. */
const PRESETS = ["read-only", "read-wide", "operator"];
const INCLUDED = "nodes-namespaces";
const CUSTOM = "custom-resources:";

const effectiveWords: Record<ScopeRow["effective"], string> = { granted: "granted", missing: "not granted", unknown: "not known yet" };

/** The selection to start from: the last request, else what the cluster grants now. */
function initialSelection(s: RbacState): { preset: string; extras: string[]; groups: string } {
  const names = s.requested?.scopes ?? s.scopes.filter((r) => r.effective === "granted").map((r) => r.name);
  const preset = PRESETS.filter((p) => names.includes(p)).at(-1) ?? "read-only";
  const extras = names.filter((n) => !PRESETS.includes(n) && n !== INCLUDED && !n.startsWith(CUSTOM));
  const groups = names.filter((n) => n.startsWith(CUSTOM)).map((n) => n.slice(CUSTOM.length));
  return { preset, extras, groups: groups.join(", ") };
}

export function RbacPage() {
  const { id = "" } = useParams();
  const { user } = useSession();
  const name = useLive().clusters.get(id)?.name ?? id;
  const [key, setKey] = useState(0);
  const [patch, setPatch] = useState<Patch | null>(null);
  const state = useGet<RbacState>(`/v1/clusters/${enc(id)}/rbac`, key);
  useEffect(() => {
    document.title = `RBAC of ${name} · Daalu Federation`;
  }, [name]);
  return (
    <section className="card" aria-labelledby="rbac-title">
      <h1 id="rbac-title">
        Settings → Clusters → {name} → RBAC
      </h1>
      <p>
        What the edge may read and do in this cluster is its proxy ServiceAccount&apos;s RBAC. Daalu generates the change; you apply it in the
        cluster, and this page shows it once the edge reports it.
      </p>
      {state === undefined && <p role="status">Asking the edge for its RBAC…</p>}
      {state && "error" in state && <ErrorLine error={`The RBAC of ${name} could not be read: ${state.error}`} />}
      {state && "data" in state && (
        <>
          <RbacStatus s={state.data} />
          <ScopeTable s={state.data} />
          <Button className="btn btn-plain" onPress={() => setKey((k) => k + 1)}>
            Ask the edge again
          </Button>
          {may(user?.role, "admin") ? (
            <PatchForm
              s={state.data}
              clusterId={id}
              onGenerated={(p) => {
                setPatch(p);
                setKey((k) => k + 1);
              }}
            />
          ) : (
            <p className="muted">Only an admin generates an RBAC change.</p>
          )}
        </>
      )}
      {patch && <PatchView patch={patch} />}
      <p>
        <Link href={`/clusters/${enc(id)}/settings`}>Back to the cluster</Link>
      </p>
    </section>
  );
}

function RbacStatus({ s }: { s: RbacState }) {
  const now = useNow();
  const e = s.effective;
  return (
    <div data-testid="rbac-status">
      {e.source === "edge" ? (
        <p>The edge reported its rules just now{e.incomplete ? " (incomplete: the API server said its review may miss some rules)" : ""}.</p>
      ) : (
        <p className="muted">
          The edge could not be asked{e.liveError ? ` (${e.liveError})` : ""}; {e.at ? `showing what it reported ${ago(e.at, now)}` : "it has never reported its rules"}.
        </p>
      )}
      {e.error && <ErrorLine error={`The edge could not review its rules: ${e.error}`} />}
      {s.requested &&
        (s.applied ? (
          <p data-testid="rbac-applied">
            <strong>Applied.</strong> The change {s.requested.by} asked for {s.requested.at ? ago(s.requested.at, now) : ""} is in the cluster
            {s.confirmedAt ? ` (confirmed ${ago(s.confirmedAt, now)})` : ""}.
          </p>
        ) : (
          <p data-testid="rbac-pending">
            <strong>Not applied yet.</strong> {s.requested.by} asked for {s.requested.scopes.join(", ")} {s.requested.at ? ago(s.requested.at, now) : ""}
            ; the cluster does not grant all of it yet.
          </p>
        ))}
    </div>
  );
}

function ScopeTable({ s }: { s: RbacState }) {
  return (
    <table className="plain" aria-label="RBAC scopes">
      <thead>
        <tr>
          <th scope="col">Scope</th>
          <th scope="col">What it allows</th>
          <th scope="col">Asked for</th>
          <th scope="col">In the cluster</th>
        </tr>
      </thead>
      <tbody>
        {s.scopes.map((r) => (
          <tr key={r.name} data-scope={r.name} data-effective={r.effective}>
            <td className="mono">
              {r.name}
              {r.includesSecrets && <span className="badge badge-alert">includes secrets</span>}
            </td>
            <td>{r.description}</td>
            <td>{r.requested ? "yes" : "—"}</td>
            <td className={r.effective === "granted" ? "ok" : r.effective === "missing" ? "muted" : ""}>{effectiveWords[r.effective]}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function PatchForm({ s, clusterId, onGenerated }: { s: RbacState; clusterId: string; onGenerated(p: Patch): void }) {
  const start = initialSelection(s);
  const [preset, setPreset] = useState(start.preset);
  const [extras, setExtras] = useState<string[]>(start.extras);
  const [groups, setGroups] = useState(start.groups);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const extraRows = s.scopes.filter((r) => !PRESETS.includes(r.name) && r.name !== INCLUDED && !r.name.startsWith(CUSTOM));
  const scopes = () => [
    preset,
    ...extras,
    ...groups
      .split(/[\s,]+/)
      .filter(Boolean)
      .map((g) => CUSTOM + g),
  ];
  return (
    <div className="rbac-form">
      <h2>Widen the edge&apos;s RBAC</h2>
      <RadioGroup className="radios" value={preset} onChange={setPreset}>
        <Label>Preset</Label>
        {PRESETS.map((p) => (
          <Radio key={p} value={p}>
            <span className="mono">{p}</span> — {s.scopes.find((r) => r.name === p)?.description}
          </Radio>
        ))}
      </RadioGroup>
      <CheckboxGroup className="checks" value={extras} onChange={setExtras}>
        <Label>Extras</Label>
        {extraRows.map((r) => (
          <Checkbox key={r.name} value={r.name}>
            <span className="box" aria-hidden="true" />
            <span className="mono">{r.name}</span> — {r.description}
          </Checkbox>
        ))}
      </CheckboxGroup>
      <TextField className="field" value={groups} onChange={setGroups}>
        <Label>Custom resource groups (read), comma-separated</Label>
        <Input placeholder="cert-manager.io, monitoring.coreos.com" autoComplete="off" />
      </TextField>
      <ErrorLine error={error} testId="rbac-error" />
      <Button
        className="btn btn-primary"
        isDisabled={busy}
        onPress={() => {
          setBusy(true);
          setError(null);
          api<Patch>("POST", `/v1/clusters/${enc(clusterId)}/rbac/patch`, { scopes: scopes() })
            .then(onGenerated)
            .catch((e: unknown) => setError(messageOf(e)))
            .finally(() => setBusy(false));
        }}
      >
        Generate the change
      </Button>
    </div>
  );
}

function PatchView({ patch }: { patch: Patch }) {
  return (
    <div data-testid="rbac-patch" className="rbac-patch">
      <h2>Apply the change in the cluster</h2>
      {patch.includesSecrets && (
        <p className="error" role="alert">
          This change lets the edge read Secrets of the cluster (the edge still refuses those of its own namespace).
        </p>
      )}
      <p>Run this where you installed the edge; it keeps every other value of the release:</p>
      <CopyBox label="Helm command" text={patch.helmCommand} testId="rbac-helm" />
      <details>
        <summary>Or apply the ClusterRole and its binding yourself</summary>
        <CopyBox label="Manifest" text={patch.manifest} testId="rbac-manifest" />
      </details>
    </div>
  );
}
