/**
 * The copy-paste helm commands: the install command shown with a new token and
 * the upgrade command shown on a cluster row whose edge is older than the
 * release the hub offers, both in exactly the documented form (README, "The
 * helm command", "Upgrading edges"). By default the chart comes
 * from the hub itself, which serves it as a Helm repository at <hub>/charts
 * (the gateway's /charts routes), so the command needs nothing but the hub:
 *
 *   helm install daalu-edge daalu-edge --repo <hubUrl>/charts --version <v> \
 *     --namespace daalu-edge --create-namespace --set hub.url=<hubUrl> --set bootstrap.token=<token>
 *
 * With INVITE_CHART_REF set (an OCI reference or `repo/chart` elsewhere), that
 * reference replaces `daalu-edge --repo <hubUrl>/charts`. Printed on one line.
 * Tokens, URLs, chart refs and versions are restricted to shell-safe
 * characters, so nothing needs quoting; anything else is refused rather than
 * producing a command that would do something different when pasted.
 */
const SHELL_SAFE = /^[A-Za-z0-9_\-./:@%+=~]+$/;

/** The chart's name in the hub's repository (deploy/daalu-edge/Chart.yaml). */
export const EDGE_CHART_NAME = "daalu-edge";
/** Where the hub serves its chart repository, below the hub URL. */
export const HUB_CHARTS_PATH = "/charts";
/** The Helm release and namespace the install command creates and the upgrade command names. */
export const EDGE_RELEASE_NAME = "daalu-edge";
export const EDGE_RELEASE_NAMESPACE = "daalu-edge";

/** True when `v` can be pasted into a shell command without quoting (config validates hub URL and chart ref with it). */
export function isShellSafe(v: string): boolean {
  return SHELL_SAFE.test(v);
}

export interface HelmCommandOptions {
  /** undefined: the hub's own repository (`--repo <hubUrl>/charts`). */
  chartRef?: string | undefined;
  /** The chart version to install (the edge release the hub offers). */
  chartVersion: string;
  hubUrl: string;
  token: string;
}

/** The `<chart> --repo … --version …` part, as helm takes it. */
export function chartArgs(o: Pick<HelmCommandOptions, "chartRef" | "chartVersion" | "hubUrl">): string {
  const chart = o.chartRef ?? `${EDGE_CHART_NAME} --repo ${o.hubUrl.replace(/\/+$/, "")}${HUB_CHARTS_PATH}`;
  return `${chart} --version ${o.chartVersion}`;
}

function assertShellSafe(fn: string, opts: object): void {
  for (const [name, v] of Object.entries(opts)) {
    if (typeof v === "string" && !isShellSafe(v)) throw new Error(`${fn}: ${name} contains characters that are not shell-safe`);
  }
}

export function helmCommand(opts: HelmCommandOptions): string {
  assertShellSafe("helmCommand", opts);
  return `helm install ${EDGE_RELEASE_NAME} ${chartArgs(opts)} --namespace ${EDGE_RELEASE_NAMESPACE} --create-namespace --set hub.url=${opts.hubUrl} --set bootstrap.token=${opts.token}`;
}

/**
 * The upgrade of an installed edge to `chartVersion`, from the same chart
 * reference, release and namespace as the install command:
 *
 *   helm upgrade daalu-edge daalu-edge --repo <hubUrl>/charts --version <v> -n daalu-edge --reuse-values
 *
 * `--reuse-values` keeps hub.url and the rest of the install's values; the
 * tunnel Secret is not a chart value and is kept as it is (no token, no second
 * bootstrap).
 */
export function helmUpgradeCommand(opts: Omit<HelmCommandOptions, "token">): string {
  assertShellSafe("helmUpgradeCommand", opts);
  return `helm upgrade ${EDGE_RELEASE_NAME} ${chartArgs(opts)} -n ${EDGE_RELEASE_NAMESPACE} --reuse-values`;
}
