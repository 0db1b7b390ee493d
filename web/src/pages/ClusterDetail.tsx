/**
 * One cluster: overview (edge health, nodes, rollouts, connection history,
 * alerts, usage, the kubectl panel, diagnostic blob, kubeconfig, re-enroll,
 * delete), audit, drift, settings. Tabs are routes: /clusters/:id, /clusters/:id/audit,
 * /clusters/:id/drift, /clusters/:id/settings.
 */
import { useEffect, useState } from "react";
import { Button, Dialog, DialogTrigger, Form, Heading, Input, Label, Link, Modal, ModalOverlay, Tab, TabList, TabPanel, Tabs, TextField } from "react-aria-components";
import { useNavigate, useParams } from "react-router";
import { api, apiText, enc, may, messageOf, type Cluster, type IssuedInvite } from "../api";
import { ErrorLine } from "../ui";
import { useLive } from "../live";
import { useSession } from "../session";
import { IssuedInvitePanel } from "./AddCluster";
import { AuditTab } from "./Audit";
import { DriftTab } from "./Drift";
import { StatusBadge } from "./Clusters";
import { KubectlPanel } from "./KubectlPanel";
import { AlertsSection, EdgeSection, HistorySection, NodesSection, RolloutsSection, Section, UsageSection, useGet } from "./ClusterSections";

/**
 * The kubeconfig names the hub's public URL (GATEWAY_PUBLIC_URL, which GET
 * /v1/auth/config says). kubectl sends no token to a plain-http server, so the
 * download is offered only for an https one; otherwise the page says why.
 */
function KubeconfigDownload({ c }: { c: Cluster }) {
  const hub = useGet<{ publicUrl?: string }>("/v1/auth/config");
  if (!hub) return null;
  const url = "data" in hub ? hub.data.publicUrl : undefined;
  if (url?.startsWith("https://")) {
    return (
      <a className="btn btn-plain" href={`/v1/clusters/${enc(c.id)}/kubeconfig`} download={`${c.name}.kubeconfig`}>
        Download kubeconfig
      </a>
    );
  }
  return (
    <p className="muted" data-testid="kubeconfig-needs-https">
      No kubeconfig download: kubectl sends a token only over https, and this hub&apos;s public address is {url ?? "unknown"}. An admin sets
      GATEWAY_PUBLIC_URL to its https address (or gives the gateway a certificate); meanwhile <code>daalu kubectl {c.name} -- get nodes</code> or
      the panel below work.
    </p>
  );
}

function Actions({ c }: { c: Cluster }) {
  const { user } = useSession();
  const [note, setNote] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [reenroll, setReenroll] = useState<IssuedInvite | null>(null);
  return (
    <Section title="Actions" id="actions-h">
      <div className="actions wrap">
        <Button
          className="btn btn-plain"
          onPress={() => {
            setError(null);
            apiText(`/v1/clusters/${enc(c.id)}/diagnostics`)
              .then((blob) => navigator.clipboard.writeText(blob))
              .then(() => setNote("Diagnostic blob copied."))
              .catch((e: unknown) => setError(`The diagnostic blob could not be copied: ${messageOf(e)}`));
          }}
        >
          Copy diagnostic blob
        </Button>
        {may(user?.role, "operator") && <KubeconfigDownload c={c} />}
        {may(user?.role, "admin") && (
          <Button
            className="btn btn-plain"
            onPress={() => {
              setError(null);
              api<IssuedInvite>("POST", `/v1/clusters/${enc(c.id)}/invites`)
                .then((r) => setReenroll({ ...r, cluster: c }))
                .catch((e: unknown) => setError(messageOf(e)));
            }}
          >
            Re-enroll
          </Button>
        )}
        {may(user?.role, "admin") && <DeleteCluster c={c} />}
      </div>
      <p className="muted" role="status">
        {note}
      </p>
      <ErrorLine error={error} />
      {reenroll && (
        <div className="reenroll">
          <h3>Re-enroll {c.name}</h3>
          <p>The cluster keeps its address {c.tunnelIp ?? ""}; its edge gets a new key when it runs this:</p>
          <IssuedInvitePanel issued={reenroll} onChange={setReenroll} />
        </div>
      )}
    </Section>
  );
}

function DeleteCluster({ c }: { c: Cluster }) {
  const live = useLive();
  const navigate = useNavigate();
  const [typed, setTyped] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  return (
    <DialogTrigger>
      <Button className="btn btn-danger">Delete cluster</Button>
      <ModalOverlay className="overlay">
        <Modal className="modal">
          <Dialog className="dialog" role="alertdialog">
            {({ close }) => (
              <Form
                onSubmit={(e) => {
                  e.preventDefault();
                  if (typed !== c.name) return;
                  setBusy(true);
                  api("DELETE", `/v1/clusters/${enc(c.id)}`)
                    .then(() => {
                      live.remove(c.id);
                      close();
                      void navigate("/clusters");
                    })
                    .catch((err: unknown) => setError(messageOf(err)))
                    .finally(() => setBusy(false));
                }}
              >
                <Heading slot="title">Delete {c.name}?</Heading>
                <p>Its tunnel is removed at once and its address goes back to the pool. The edge in the cluster stops reaching the hub.</p>
                <TextField className="field" value={typed} onChange={setTyped} autoFocus>
                  <Label>Type the cluster&apos;s name, {c.name}, to confirm</Label>
                  <Input autoComplete="off" />
                </TextField>
                <ErrorLine error={error} />
                <div className="actions">
                  <Button type="submit" className="btn btn-danger" isDisabled={typed !== c.name || busy}>
                    Delete cluster
                  </Button>
                  <Button className="btn btn-plain" onPress={close}>
                    Cancel
                  </Button>
                </div>
              </Form>
            )}
          </Dialog>
        </Modal>
      </ModalOverlay>
    </DialogTrigger>
  );
}

function SettingsTab({ c }: { c: Cluster }) {
  return (
    <Section title="Settings" id="settings-h">
      <ul>
        <li>
          <Link href={`/settings/clusters/${enc(c.id)}/rbac`}>RBAC of {c.name}</Link> — what the edge may read and do, and the change that widens it.
        </li>
        <li>
          <Link href="/settings/clusters/reconciliation">Reconciliation</Link> — drift detection on or off, for every cluster.
        </li>
      </ul>
    </Section>
  );
}

export function ClusterDetailPage() {
  const { id = "", tab = "overview" } = useParams();
  const live = useLive();
  const { user } = useSession();
  const navigate = useNavigate();
  const fetched = useGet<{ cluster: Cluster }>(`/v1/clusters/${enc(id)}`);
  const c = live.clusters.get(id) ?? (fetched && "data" in fetched ? fetched.data.cluster : undefined);
  useEffect(() => {
    document.title = `${c?.name ?? "Cluster"} · Daalu Federation`;
  }, [c?.name]);

  if (!c) {
    if (fetched && "error" in fetched)
      return (
        <section className="card">
          <h1>Cluster not found</h1>
          <p>{fetched.error}</p>
          <Link href="/clusters">Back to the clusters</Link>
        </section>
      );
    if (live.loaded && fetched === undefined) return <p role="status">Loading the cluster…</p>;
    return <p role="status">Loading the cluster…</p>;
  }
  const gone = live.loaded && !live.clusters.has(id) && fetched !== undefined;
  return (
    <div className="detail">
      <nav aria-label="Breadcrumb" className="crumbs">
        <Link href="/clusters">Clusters</Link> / <span aria-current="page">{c.name}</span>
      </nav>
      <div className="page-head">
        <h1>{c.name}</h1>
        <StatusBadge c={c} />
        {gone && <span className="badge badge-alert">deleted</span>}
      </div>
      <Tabs selectedKey={tab} onSelectionChange={(k) => void navigate(k === "overview" ? `/clusters/${enc(id)}` : `/clusters/${enc(id)}/${String(k)}`)}>
        <TabList aria-label="Cluster views" className="tabs">
          <Tab id="overview" className="tab">
            Overview
          </Tab>
          <Tab id="audit" className="tab">
            Audit
          </Tab>
          <Tab id="drift" className="tab">
            Drift
          </Tab>
          <Tab id="settings" className="tab">
            Settings
          </Tab>
        </TabList>
        <TabPanel id="overview" className="tabpanel grid">
          <EdgeSection c={c} />
          <Actions c={c} />
          <NodesSection c={c} />
          {may(user?.role, "operator") && <KubectlPanel clusterId={c.id} />}
          <RolloutsSection c={c} />
          <HistorySection c={c} />
          <AlertsSection c={c} />
          <UsageSection c={c} />
        </TabPanel>
        <TabPanel id="audit" className="tabpanel">
          <AuditTab clusterId={c.id} />
        </TabPanel>
        <TabPanel id="drift" className="tabpanel grid">
          <DriftTab c={c} />
        </TabPanel>
        <TabPanel id="settings" className="tabpanel">
          <SettingsTab c={c} />
        </TabPanel>
      </Tabs>
    </div>
  );
}
