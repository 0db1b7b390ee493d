/** Settings pages whose back ends come with later work; they have their places and routes now. */
import { useEffect } from "react";
import { Link } from "react-aria-components";
import { useParams } from "react-router";
import { useLive } from "../live";
import { SettingsNav } from "./SubnetSettings";

function useTitle(t: string) {
  useEffect(() => {
    document.title = `${t} · Daalu Federation`;
  }, [t]);
}

export function ReconciliationPage() {
  useTitle("Reconciliation");
  return (
    <section className="card">
      <h1>Settings → Clusters → Reconciliation</h1>
      <SettingsNav />
      <p>Drift detection, on or off per cluster, is set here.</p>
      <p className="muted">This page&apos;s back end comes with drift detection; nothing can be changed here yet.</p>
    </section>
  );
}

export function RbacPage() {
  const { id = "" } = useParams();
  const name = useLive().clusters.get(id)?.name ?? id;
  useTitle(`RBAC of ${name}`);
  return (
    <section className="card">
      <h1>
        Settings → Clusters → {name} → RBAC
      </h1>
      <p>What the edge may read and do in this cluster (its RBAC) is widened here.</p>
      <p className="muted">This page&apos;s back end comes with RBAC widening; today the edge has the chart&apos;s read-only RBAC.</p>
      <Link href={`/clusters/${encodeURIComponent(id)}`}>Back to the cluster</Link>
    </section>
  );
}

export function NotFoundPage() {
  useTitle("Not found");
  return (
    <section className="card">
      <h1>There is no page here</h1>
      <Link href="/clusters">Go to the clusters</Link>
    </section>
  );
}
