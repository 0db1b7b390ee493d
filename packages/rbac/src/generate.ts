/**
 * From a chosen set of scopes (and custom rules), the exact patch a customer
 * applies: the proxy account's ClusterRole and its binding as the chart
 * renders them, the chart values that render the same rules, and the
 * `helm upgrade` command that sets those values. One function builds all
 * three from the same resolved selection, so they cannot disagree.
 */
import { stringify } from "yaml";
import { covers, normalRule, type Rule } from "./rules.js";
import { CUSTOM_RESOURCES, customResourceRules, customResourceScope, GROUP_PATTERN, isBuiltInGroup, PRESET_NAMES, presetRules, SCOPES, type PresetName, type Scope } from "./scopes.js";

/** A refused selection; `reason` is the stable problem+json reason. */
export class ScopeError extends Error {
  constructor(
    readonly reason: "RBAC_SCOPE_UNKNOWN" | "RBAC_SCOPE_INVALID" | "RBAC_CUSTOM_RULE_INVALID",
    message: string,
  ) {
    super(message);
    this.name = "ScopeError";
  }
}

/** What an admin asks for: scope names (at most one preset counts: the widest) and rules as written. */
export interface Selection {
  scopes: string[];
  customRules?: Rule[];
}

/** A selection resolved to the chart's terms. */
export interface Resolved {
  preset: PresetName;
  /** rbac.extras: the extras the preset does not already grant, in the chart's order. */
  extras: string[];
  /** rbac.customResourceGroups, sorted. */
  customResourceGroups: string[];
  customRules: Rule[];
  /** Every named scope asked for, as Scope objects (presets included). */
  scopes: Scope[];
  /** Whether any of it reads Secrets. */
  includesSecrets: boolean;
}

/** The Scope a name stands for (`custom-resources:<group>` included), or a ScopeError. */
export function scopeNamed(name: string): Scope {
  const fixed = SCOPES.find((s) => s.name === name);
  if (fixed) return fixed;
  if (name.startsWith(`${CUSTOM_RESOURCES}:`)) {
    const group = name.slice(CUSTOM_RESOURCES.length + 1);
    if (!GROUP_PATTERN.test(group)) throw new ScopeError("RBAC_SCOPE_INVALID", `scope ${JSON.stringify(name)}: ${JSON.stringify(group)} is not an API group (a DNS subdomain with a dot, e.g. cert-manager.io)`);
    if (isBuiltInGroup(group)) throw new ScopeError("RBAC_SCOPE_INVALID", `scope ${JSON.stringify(name)}: ${group} is a built-in Kubernetes group; use a named scope or customRules`);
    return customResourceScope(group);
  }
  throw new ScopeError("RBAC_SCOPE_UNKNOWN", `unknown scope ${JSON.stringify(name)}; known: ${SCOPES.map((s) => s.name).join(", ")}, ${CUSTOM_RESOURCES}:<group>`);
}

const NAME = /^[a-z0-9*][-a-z0-9.*/]*$/;
function checkRule(r: Rule, i: number): Rule {
  const bad = (why: string) => new ScopeError("RBAC_CUSTOM_RULE_INVALID", `customRules[${i}]: ${why}`);
  for (const k of ["apiGroups", "resources", "verbs"] as const) {
    if (!Array.isArray(r?.[k]) || r[k].length === 0 || !r[k].every((x) => typeof x === "string")) throw bad(`${k} must be a non-empty list of strings`);
  }
  if (r.resourceNames !== undefined && (!Array.isArray(r.resourceNames) || !r.resourceNames.every((x) => typeof x === "string" && x.length > 0))) throw bad("resourceNames must be a list of names");
  if (!r.resources.every((x) => NAME.test(x))) throw bad("resources must be plural resource names (pods, pods/log, *)");
  if (!r.verbs.every((x) => /^(\*|[a-z]+)$/.test(x))) throw bad("verbs must be lower-case words or *");
  if (!r.apiGroups.every((g) => g === "" || g === "*" || GROUP_PATTERN.test(g) || /^[a-z0-9]+$/.test(g))) throw bad("apiGroups must be API group names");
  return normalRule(r);
}

export function resolve(sel: Selection): Resolved {
  if (!Array.isArray(sel.scopes)) throw new ScopeError("RBAC_SCOPE_INVALID", "scopes must be a list of scope names");
  const scopes = [...new Set(sel.scopes)].map(scopeNamed);
  const customRules = (sel.customRules ?? []).map(checkRule);
  const asked = scopes.filter((s) => s.form === "preset").map((s) => s.name as PresetName);
  const preset = PRESET_NAMES.filter((p) => asked.includes(p)).at(-1) ?? "read-only";
  const base = presetRules(preset);
  const extras = SCOPES.filter((s) => s.form === "extra" && scopes.includes(s) && !covers(base, s.rules)).map((s) => s.name);
  const customResourceGroups = scopes.filter((s) => s.form === "custom-resources").map((s) => s.rules[0]!.apiGroups[0]!).sort();
  return { preset, extras, customResourceGroups, customRules, scopes, includesSecrets: scopes.some((s) => s.includesSecrets) || customRules.some((r) => readsSecrets(r)) };
}

/** Whether a rule could read Secrets (core group or *, secrets or *). */
export const readsSecrets = (r: Rule) => (r.apiGroups.includes("") || r.apiGroups.includes("*")) && (r.resources.includes("secrets") || r.resources.includes("*"));

/** The proxy account's rules for a resolved selection, in the order the chart renders them. */
export function rulesFor(r: Resolved): Rule[] {
  return [
    ...presetRules(r.preset),
    ...r.extras.flatMap((e) => SCOPES.find((s) => s.name === e)!.rules),
    ...r.customResourceGroups.flatMap(customResourceRules),
    ...r.customRules,
  ].map(normalRule);
}

/** The chart facts the manifest names its objects after. */
export interface ChartTarget {
  release: string;
  namespace: string;
  chartVersion: string;
  appVersion: string;
  /** The hub's public URL: `--repo <hubUrl>/charts`. */
  hubUrl: string;
}

/** The chart's `daalu-edge.fullname` helper. */
export function fullname(release: string, chart = "daalu-edge"): string {
  const n = release.includes(chart) ? release : `${release}-${chart}`;
  return n.slice(0, 63).replace(/-+$/, "");
}

/** The names the chart gives the proxy account's ClusterRole (and binding) and the proxy ServiceAccount. */
export const proxyRoleName = (t: Pick<ChartTarget, "release" | "namespace">) => `${fullname(t.release)}-${t.namespace}-read`;
export const proxyAccountName = (release: string) => `${fullname(release)}-proxy`;

function labels(t: ChartTarget): Record<string, string> {
  return {
    "app.kubernetes.io/name": "daalu-edge",
    "app.kubernetes.io/instance": t.release,
    "app.kubernetes.io/version": t.appVersion,
    "app.kubernetes.io/managed-by": "Helm",
    "helm.sh/chart": `daalu-edge-${t.chartVersion}`,
  };
}

export interface Patch {
  resolved: Resolved;
  /** The ClusterRole and ClusterRoleBinding, as objects and as multi-document YAML (`kubectl apply -f`). */
  objects: Array<Record<string, unknown>>;
  manifest: string;
  /** The chart values (`rbac:` only) and their YAML (`helm upgrade … -f`). */
  values: { rbac: { preset: PresetName; extras: string[]; customResourceGroups: string[]; customRules: Rule[] } };
  valuesYaml: string;
  /** The flags that set the same values on top of the installed ones, and the whole command. */
  helmArgs: string[];
  helmCommand: string;
}

const shellQuote = (s: string) => (/^[A-Za-z0-9_./:=@,+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

export function generatePatch(sel: Selection, t: ChartTarget): Patch {
  const resolved = resolve(sel);
  const name = proxyRoleName(t);
  const objects = [
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      metadata: { name, labels: labels(t), annotations: { "daalu.io/rbac-preset": resolved.preset } },
      rules: rulesFor(resolved),
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name, labels: labels(t) },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name },
      subjects: [{ kind: "ServiceAccount", name: proxyAccountName(t.release), namespace: t.namespace }],
    },
  ];
  const rbac = { preset: resolved.preset, extras: resolved.extras, customResourceGroups: resolved.customResourceGroups, customRules: resolved.customRules };
  // Every rbac value is set, so --reuse-values keeps nothing of an earlier widening.
  const helmArgs = [
    "--set", `rbac.preset=${rbac.preset}`,
    "--set-json", `rbac.extras=${JSON.stringify(rbac.extras)}`,
    "--set-json", `rbac.customResourceGroups=${JSON.stringify(rbac.customResourceGroups)}`,
    "--set-json", `rbac.customRules=${JSON.stringify(rbac.customRules)}`,
  ];
  const base = ["helm", "upgrade", t.release, "daalu-edge", "--repo", `${t.hubUrl.replace(/\/+$/, "")}/charts`, "--version", t.chartVersion, "--namespace", t.namespace, "--reuse-values"];
  return {
    resolved,
    objects,
    manifest: objects.map((o) => stringify(o, { lineWidth: 0 })).join("---\n"),
    values: { rbac },
    valuesYaml: stringify({ rbac }, { lineWidth: 0 }),
    helmArgs,
    helmCommand: [...base, ...helmArgs].map(shellQuote).join(" "),
  };
}
