/**
 * The Add cluster wizard: a name (a DNS label, checked as it is typed), the
 * tenant's subnet with its free addresses, then Generate invite → the token
 * and the helm command, shown this once, with a copy button and the time
 * left. The wizard then waits for the new cluster's row to turn green (first
 * handshake and probe) and closes into it. An expired invite can be
 * regenerated; any invite can be revoked.
 */
import { useEffect, useRef, useState } from "react";
import { Button, Dialog, DialogTrigger, FieldError, Form, Heading, Input, Label, Modal, ModalOverlay, Text, TextField } from "react-aria-components";
import { api, ApiError, enc, messageOf, type Cluster, type Invite, type IssuedInvite, type Subnet } from "../api";
import { useNow } from "../clock";
import { dnsLabelProblem, duration, statusTone, statusWords } from "../format";
import { ErrorLine } from "../ui";
import { useLive } from "../live";
import { Dot } from "./Clusters";

/** The command box with its copy button (the helm command, a token). */
export function CopyBox({ label, text, testId }: { label: string; text: string; testId: string }) {
  const [copied, setCopied] = useState<string>("");
  return (
    <div className="copybox">
      <div className="copybox-head">
        <span className="copybox-label" id={`${testId}-label`}>
          {label}
        </span>
        <Button
          className="btn btn-plain btn-small"
          aria-label={`Copy ${label.toLowerCase()}`}
          onPress={() => {
            navigator.clipboard
              .writeText(text)
              .then(() => setCopied("Copied."))
              .catch(() => setCopied("Copying is not allowed here: select the text and press Ctrl+C."));
          }}
        >
          Copy
        </Button>
        <span className="muted" role="status">
          {copied}
        </span>
      </div>
      <pre className="copytext" data-testid={testId} aria-labelledby={`${testId}-label`} tabIndex={0}>
        {text}
      </pre>
    </div>
  );
}

/** The invite's token and helm command, the time left, and Regenerate / Revoke. */
export function IssuedInvitePanel({ issued, onChange }: { issued: IssuedInvite; onChange(next: IssuedInvite): void }) {
  const now = useNow();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const inv = issued.invite;
  const left = inv.expiresAt ? (Date.parse(inv.expiresAt) - now) / 1000 : Infinity;
  const expired = inv.state === "expired" || left <= 0;
  const revoked = inv.state === "revoked";
  const act = (path: string, next: (r: unknown) => IssuedInvite) => {
    setBusy(true);
    setError(null);
    api<unknown>("POST", path)
      .then((r) => onChange(next(r)))
      .catch((e: unknown) => setError(messageOf(e)))
      .finally(() => setBusy(false));
  };
  return (
    <div className="issued">
      {!expired && !revoked && (
        <>
          <p className="warn">
            Shown this once: copy the command now. It is valid for <strong>{duration(left)}</strong> more and works once.
          </p>
          <CopyBox label="Helm command" text={issued.helmCommand} testId="helm-command" />
          <CopyBox label="Invite token" text={issued.token} testId="invite-token" />
        </>
      )}
      {expired && !revoked && <p className="error">This invite has expired unused. Regenerate it for a new token and command.</p>}
      {revoked && <p className="muted">This invite is revoked: its token no longer works. Regenerate it to enroll the cluster after all.</p>}
      <ErrorLine error={error} />
      <div className="actions">
        <Button
          className="btn btn-plain"
          isDisabled={busy}
          onPress={() => act(`/v1/invites/${enc(inv.id)}/regenerate`, (r) => ({ ...(r as IssuedInvite), cluster: issued.cluster }))}
        >
          Regenerate invite
        </Button>
        {!revoked && !expired && (
          <Button
            className="btn btn-danger-plain"
            isDisabled={busy}
            onPress={() => act(`/v1/invites/${enc(inv.id)}/revoke`, (r) => ({ ...issued, invite: (r as { invite: Invite }).invite }))}
          >
            Revoke invite
          </Button>
        )}
      </div>
    </div>
  );
}

function SubnetInfo() {
  const [subnet, setSubnet] = useState<Subnet | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [none, setNone] = useState(false);
  useEffect(() => {
    api<{ subnet: Subnet }>("GET", "/v1/subnet")
      .then((r) => setSubnet(r.subnet))
      .catch((e: unknown) => (e instanceof ApiError && e.reason === "SUBNET_NOT_FOUND" ? setNone(true) : setError(messageOf(e))));
  }, []);
  if (none)
    return (
      <p className="subnet" data-testid="subnet">
        This tenant has no tunnel subnet yet: the first cluster gets one from the hub&apos;s pool (a /24, 254 addresses), and its first address.
      </p>
    );
  if (error) return <p className="error">The tenant subnet could not be read: {error}</p>;
  if (!subnet) return <p className="muted">Reading the tenant subnet…</p>;
  const free = subnet.capacity - subnet.allocated;
  return (
    <div className="subnet" data-testid="subnet">
      <p>
        Address from the tenant subnet <span className="mono">{subnet.cidr}</span> (hub <span className="mono">{subnet.hubIp}</span>):{" "}
        <strong>
          {free} of {subnet.capacity} addresses free
        </strong>
        .
      </p>
      <p className="muted">
        {free <= 0 ? "The subnet is full. " : ""}
        Widening the subnet (for example /24 → /22) adds addresses and keeps every cluster&apos;s address; an admin does it in Settings → Clusters → Subnet.
      </p>
    </div>
  );
}

function Wizard({ close, onConnected }: { close(): void; onConnected(c: Cluster): void }) {
  const live = useLive();
  const [name, setName] = useState("");
  const [touched, setTouched] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [issued, setIssued] = useState<IssuedInvite | null>(null);
  const problem = dnsLabelProblem(name);
  const cluster = issued?.cluster ? (live.clusters.get(issued.cluster.id) ?? issued.cluster) : undefined;
  const connected = cluster?.status === "connected" && cluster.apiReachable;

  // Turn into the green row: close once the edge's first handshake and probe succeeded.
  // (The callbacks change on every render of the page, which ticks each second: keep them in a ref.)
  const done = useRef(() => undefined as void);
  done.current = () => {
    if (cluster) onConnected(cluster);
    close();
  };
  useEffect(() => {
    if (!connected) return;
    const t = setTimeout(() => done.current(), 1500);
    return () => clearTimeout(t);
  }, [connected]);

  return (
    <>
      <Heading slot="title">{issued ? `Connect ${issued.cluster?.name ?? issued.invite.clusterName}` : "Add cluster"}</Heading>
      {!issued && (
        <Form
          className="wizard-form"
          validationBehavior="aria"
          onSubmit={(e) => {
            e.preventDefault();
            setTouched(true);
            if (problem) return;
            setBusy(true);
            setError(null);
            api<IssuedInvite>("POST", "/v1/clusters", { name })
              .then((r) => {
                if (r.cluster) live.upsert(r.cluster);
                setIssued(r);
              })
              .catch((err: unknown) => setError(messageOf(err)))
              .finally(() => setBusy(false));
          }}
        >
          <TextField
            className="field"
            name="name"
            value={name}
            onChange={(v) => {
              setName(v);
              setTouched(true);
            }}
            isInvalid={touched && problem !== null}
            validate={() => (touched ? problem : null)}
            autoFocus
          >
            <Label>Cluster name</Label>
            <Input placeholder="prod-eu-1" maxLength={80} />
            <Text slot="description">A DNS label: lower-case letters, digits and hyphens, at most 63 characters.</Text>
            <FieldError>{problem}</FieldError>
          </TextField>
          <SubnetInfo />
          <ErrorLine error={error} />
          <div className="actions">
            <Button type="submit" className="btn btn-primary" isDisabled={busy}>
              {busy ? "Generating…" : "Generate invite"}
            </Button>
            <Button className="btn btn-plain" onPress={close}>
              Cancel
            </Button>
          </div>
        </Form>
      )}
      {issued && (
        <>
          <p>Run this in the cluster (it needs helm and access to create a namespace):</p>
          <IssuedInvitePanel issued={issued} onChange={setIssued} />
          <p className="waiting" role="status" aria-live="polite" data-testid="wizard-status" data-status={cluster?.status ?? ""}>
            <Dot tone={cluster ? statusTone(cluster.status) : "grey"} />{" "}
            {connected
              ? `${cluster?.name} is connected. Opening its row…`
              : cluster?.status === "connected"
                ? "Tunnel up; waiting for the edge to reach its API server…"
                : `Waiting for the edge's first handshake (${statusWords(cluster?.status ?? "pending")})…`}
          </p>
          <div className="actions">
            <Button className="btn btn-plain" onPress={close}>
              Close (the cluster keeps waiting for its edge)
            </Button>
          </div>
        </>
      )}
    </>
  );
}

export function AddClusterDialog({ onConnected }: { onConnected(c: Cluster): void }) {
  const [open, setOpen] = useState(false);
  return (
    <DialogTrigger isOpen={open} onOpenChange={setOpen}>
      <Button className="btn btn-primary">Add cluster</Button>
      <ModalOverlay className="overlay" isDismissable={false}>
        <Modal className="modal">
          <Dialog className="dialog">
            {({ close }) => <Wizard close={close} onConnected={onConnected} />}
          </Dialog>
        </Modal>
      </ModalOverlay>
    </DialogTrigger>
  );
}
