/** `daalu clusters ls|show|add|rm|invite`. */
import { CliError, EXIT } from "../exit.js";
import { Hub, type Cluster, type IssuedInvite } from "../hub.js";
import { ago, color, printData, printFields, printTable, statusLabel, type Format } from "../render.js";

function api(c: Cluster): string {
  if (c.status === "pending_enrollment") return "-";
  return c.apiReachable ? color().green("reachable") : color().red("unreachable");
}

/** The edge's version, and whether the hub has a newer release for it (or no longer supports it). */
function edgeVersion(c: Cluster): string {
  if (!c.edgeVersion) return "-";
  if (c.edgeSupport === "unsupported") return `${c.edgeVersion} (unsupported, upgrade to ${c.latestEdgeVersion ?? "the current release"})`;
  if (c.updateAvailable) return `${c.edgeVersion} (update available: ${c.latestEdgeVersion ?? "a newer release"})`;
  return c.edgeVersion;
}

export async function clustersLs(o: { output: Format }): Promise<void> {
  const hub = Hub.fromConfig();
  const clusters = await hub.clusters();
  if (await printData(o.output, { clusters })) return;
  if (clusters.length === 0) {
    process.stdout.write("No clusters yet. Add one with `daalu clusters add NAME`.\n");
    return;
  }
  await printTable(
    ["NAME", "STATUS", "TUNNEL IP", "LAST HANDSHAKE", "EDGE VERSION", "API"],
    clusters.map((c) => [c.name, statusLabel(c.status), c.tunnelIp ?? "-", ago(c.lastHandshake), c.edgeVersion ?? "-", api(c)]),
  );
}

export async function clustersShow(nameOrId: string, o: { output: Format }): Promise<void> {
  const hub = Hub.fromConfig();
  const c = await hub.findCluster(nameOrId);
  if (await printData(o.output, { cluster: c })) return;
  printFields([
    ["Name", c.name],
    ["ID", c.id],
    ["Status", `${statusLabel(c.status)}${c.statusSince ? ` (since ${ago(c.statusSince)})` : ""}`],
    ["Tunnel IP", c.tunnelIp ?? "-"],
    ["Hub node", c.homeNode ?? "-"],
    ["Last handshake", ago(c.lastHandshake)],
    ["Edge version", edgeVersion(c)],
    ...(c.updateAvailable && c.upgradeCommand ? [["Upgrade with", c.upgradeCommand] as [string, string]] : []),
    ["API", api(c)],
    ["Diagnostic", c.diagnostic ?? "-"],
    ["Created", c.createdAt ?? "-"],
    ["Enrolled", c.enrolledAt ?? "-"],
  ]);
}

function printInvite(issued: IssuedInvite, to: NodeJS.WriteStream): void {
  const c = color();
  const expires = issued.invite?.expiresAt;
  to.write(`Run this in the customer's cluster${expires ? ` before ${expires}` : ""} (the token is shown only now):\n\n`);
  to.write(`  ${c.cyan(issued.helmCommand)}\n\n`);
}

export interface AddOptions {
  output: Format;
  subnet?: string;
  wait?: boolean;
  timeoutMs: number;
  intervalMs: number;
}

export async function clustersAdd(name: string, o: AddOptions): Promise<void> {
  const hub = Hub.fromConfig();
  const created = await hub.json<IssuedInvite & { cluster: Cluster }>("POST", "/v1/clusters", { name, ...(o.subnet ? { subnet: o.subnet } : {}) });
  // The helm command comes first: the user needs it while we wait. In JSON/YAML
  // mode stdout carries only the document, so the command goes to stderr then.
  const human = o.output === "table";
  if (human || o.wait) printInvite(created, human ? process.stdout : process.stderr);
  if (!o.wait) {
    if (!(await printData(o.output, created))) process.stdout.write(`Cluster ${created.cluster.name} (${created.cluster.id}) added; tunnel IP ${created.cluster.tunnelIp ?? "assigned on enrollment"}.\n`);
    return;
  }
  const cluster = await waitConnected(hub, created.cluster, o);
  if (!(await printData(o.output, { ...created, cluster }))) process.stdout.write(`Cluster ${cluster.name} is connected (tunnel IP ${cluster.tunnelIp}).\n`);
}

/** Polls the cluster until it is connected, with a spinner on stderr; exits 5 at the deadline. */
async function waitConnected(hub: Hub, first: Cluster, o: AddOptions): Promise<Cluster> {
  const { createSpinner } = await import("nanospinner");
  const describe = (c: Cluster) => `waiting for ${c.name} to connect: ${c.status.replace("_", " ")}${c.diagnostic ? ` (${c.diagnostic})` : ""}`;
  const spinner = createSpinner(describe(first), { stream: process.stderr }).start();
  const deadline = Date.now() + o.timeoutMs;
  let c = first;
  try {
    for (;;) {
      if (c.status === "connected") {
        spinner.success({ text: `${c.name} connected` });
        return c;
      }
      const left = deadline - Date.now();
      if (left <= 0) break;
      await new Promise((r) => setTimeout(r, Math.min(o.intervalMs, left)));
      c = await hub.cluster(c.id);
      spinner.update({ text: describe(c) });
    }
  } catch (err) {
    spinner.error({ text: `stopped waiting for ${c.name}` });
    throw err;
  }
  spinner.error({ text: `${c.name} is not connected yet` });
  throw new CliError(`${c.name} did not connect within ${Math.round(o.timeoutMs / 1000)} s (status ${c.status}${c.diagnostic ? `: ${c.diagnostic}` : ""})`, EXIT.timeout, `run the helm command, then watch with \`daalu clusters show ${c.name}\``);
}

export async function clustersRm(nameOrId: string, o: { yes?: boolean; output: Format }): Promise<void> {
  const hub = Hub.fromConfig();
  const c = await hub.findCluster(nameOrId);
  if (!o.yes) {
    if (!process.stdin.isTTY || !process.stderr.isTTY) throw new CliError(`refusing to delete ${c.name} without --yes (not on a terminal to ask)`, EXIT.usage, `run \`daalu clusters rm ${c.name} --yes\``);
    const { read } = await import("read");
    const answer = await read({ prompt: `Delete cluster ${c.name} (${c.tunnelIp ?? "no address"})? Its tunnel is cut at once. Type its name to confirm: `, output: process.stderr });
    if (answer.trim() !== c.name) throw new CliError("not deleted: the name did not match", EXIT.error);
  }
  const res = await hub.json<{ cluster: Cluster }>("DELETE", `/v1/clusters/${encodeURIComponent(c.id)}`);
  if (!(await printData(o.output, res))) process.stdout.write(`Cluster ${c.name} deleted; its address is free again.\n`);
}

export async function clustersInvite(nameOrId: string, o: { output: Format }): Promise<void> {
  const hub = Hub.fromConfig();
  const c = await hub.findCluster(nameOrId);
  const issued = await hub.json<IssuedInvite>("POST", `/v1/clusters/${encodeURIComponent(c.id)}/invites`);
  if (await printData(o.output, issued)) return;
  printInvite(issued, process.stdout);
  process.stdout.write(`A new invite for ${c.name}: it keeps its address ${c.tunnelIp ?? ""} and gets a new key when the edge redeems it.\n`);
}
