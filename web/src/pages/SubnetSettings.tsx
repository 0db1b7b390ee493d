/**
 * Settings → Clusters → Subnet: the tenant's tunnel subnet, how full it is,
 * and widening it (admin). Widening keeps every cluster's address and cannot
 * be undone (the hub refuses shrinks and moves), so it asks for confirmation;
 * the hub's refusals (overlap with another tenant, outside the pool) are shown
 * in its words.
 */
import { useEffect, useState } from "react";
import { Button, Dialog, DialogTrigger, Heading, Label, Link, Modal, ModalOverlay, Radio, RadioGroup } from "react-aria-components";
import { api, ApiError, messageOf, type Subnet } from "../api";
import { useSession } from "../session";
import { widerSubnets } from "../subnet";
import { ErrorLine } from "../ui";

export function SubnetSettingsPage() {
  const { user } = useSession();
  const [subnet, setSubnet] = useState<Subnet | null>(null);
  const [none, setNone] = useState(false);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    document.title = "Subnet · Daalu Federation";
    api<{ subnet: Subnet }>("GET", "/v1/subnet")
      .then((r) => setSubnet(r.subnet))
      .catch((e: unknown) => (e instanceof ApiError && e.reason === "SUBNET_NOT_FOUND" ? setNone(true) : setError(messageOf(e))));
  }, []);
  return (
    <section className="card" aria-labelledby="subnet-title">
      <h1 id="subnet-title">Settings → Clusters → Subnet</h1>
      <SettingsNav />
      {none && <p>This tenant has no tunnel subnet yet: the first cluster gets one from the hub&apos;s pool (a /24, 254 addresses).</p>}
      {error && <p className="error" role="alert">The tenant subnet could not be read: {error}</p>}
      {!subnet && !none && !error && <p className="muted">Reading the tenant subnet…</p>}
      {subnet && <SubnetView key={subnet.cidr} subnet={subnet} mayWiden={user?.role === "admin"} onWidened={setSubnet} />}
    </section>
  );
}

/** The tenant-wide settings pages. */
export function SettingsNav() {
  return (
    <nav aria-label="Settings" className="subnav">
      <Link href="/settings/clusters/subnet">Subnet</Link>
      <Link href="/settings/clusters/reconciliation">Reconciliation</Link>
    </nav>
  );
}

function SubnetView({ subnet, mayWiden, onWidened }: { subnet: Subnet; mayWiden: boolean; onWidened(s: Subnet): void }) {
  const choices = widerSubnets(subnet.cidr);
  const [chosen, setChosen] = useState(choices[0]?.cidr ?? "");
  const free = subnet.capacity - subnet.allocated;
  return (
    <>
      <p data-testid="subnet-now">
        Tunnel subnet <span className="mono">{subnet.cidr}</span>, hub address <span className="mono">{subnet.hubIp}</span>:{" "}
        <strong>
          {subnet.allocated} of {subnet.capacity} addresses in use, {free} free
        </strong>
        .
      </p>
      <p className="muted">
        Widening gives the tenant more cluster addresses. Every cluster keeps its address and its tunnel; the subnet can never shrink or move
        afterwards, and the wider block must not overlap another tenant&apos;s.
      </p>
      {!mayWiden ? (
        <p className="muted">Only an admin can widen the subnet.</p>
      ) : choices.length === 0 ? (
        <p className="muted">This subnet is already as wide as the hub allows (/16).</p>
      ) : (
        <>
          <RadioGroup className="radios" value={chosen} onChange={setChosen}>
            <Label>Widen to</Label>
            {choices.slice(0, 4).map((c) => (
              <Radio key={c.cidr} value={c.cidr}>
                <span className="mono">{c.cidr}</span> — {c.capacity.toLocaleString("en")} addresses
              </Radio>
            ))}
          </RadioGroup>
          <ConfirmWiden cidr={chosen} onWidened={onWidened} />
        </>
      )}
    </>
  );
}

function ConfirmWiden({ cidr, onWidened }: { cidr: string; onWidened(s: Subnet): void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  return (
    <DialogTrigger onOpenChange={() => setError(null)}>
      <Button className="btn btn-primary">Widen to {cidr}…</Button>
      <ModalOverlay className="overlay">
        <Modal className="modal">
          <Dialog className="dialog" role="alertdialog">
            {({ close }) => (
              <>
                <Heading slot="title">Widen the subnet to {cidr}?</Heading>
                <p>Clusters keep their addresses. This cannot be undone: the subnet never shrinks.</p>
                <ErrorLine error={error} />
                <div className="actions">
                  <Button
                    className="btn btn-primary"
                    isDisabled={busy}
                    onPress={() => {
                      setBusy(true);
                      api<{ subnet: Subnet }>("PUT", "/v1/subnet", { cidr })
                        .then((r) => {
                          onWidened(r.subnet);
                          close();
                        })
                        .catch((e: unknown) => setError(messageOf(e)))
                        .finally(() => setBusy(false));
                    }}
                  >
                    Widen
                  </Button>
                  <Button className="btn btn-plain" onPress={close}>
                    Cancel
                  </Button>
                </div>
              </>
            )}
          </Dialog>
        </Modal>
      </ModalOverlay>
    </DialogTrigger>
  );
}
