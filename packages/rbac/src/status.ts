/**
 * What the hub shows per named scope: asked for or not, granted or missing
 * in the rules the edge's proxy account reports (SelfSubjectRulesReview), and
 * which scope would let the proxy account read a given resource.
 */
import { covers, type Rule } from "./rules.js";
import { customResourceScope, isBuiltInGroup, SCOPES, type Scope } from "./scopes.js";
import { resolve, rulesFor, type Selection } from "./generate.js";

export interface ScopeState {
  name: string;
  description: string;
  includesSecrets: boolean;
  requested: boolean;
  /** "unknown" while the edge has not reported its rules. */
  effective: "granted" | "missing" | "unknown";
}

export interface RbacView {
  scopes: ScopeState[];
  /** Whether the custom rules asked for are all granted (undefined when none were asked for or nothing is known). */
  customRulesGranted?: boolean;
  /** Every rule the last request would give is granted: the patch has been applied. */
  applied: boolean;
}

/**
 * Every fixed scope plus each requested `custom-resources:` scope, with
 * requested (the last selection an admin generated a patch for) vs effective
 * (the rules the edge reports; undefined while unknown).
 */
export function rbacView(requested: Selection | undefined, effective: readonly Rule[] | undefined): RbacView {
  const resolved = requested ? resolve(requested) : undefined;
  const asked = new Set(resolved?.scopes.map((s) => s.name) ?? []);
  const all: Scope[] = [...SCOPES, ...(resolved?.scopes.filter((s) => s.form === "custom-resources") ?? [])];
  const state = (rules: Rule[]) => (effective === undefined ? "unknown" : covers(effective, rules) ? "granted" : "missing");
  const custom = resolved?.customRules ?? [];
  return {
    scopes: all.map((s) => ({ name: s.name, description: s.description, includesSecrets: s.includesSecrets, requested: asked.has(s.name), effective: state(s.rules) })),
    ...(custom.length > 0 && effective !== undefined ? { customRulesGranted: covers(effective, custom) } : {}),
    applied: resolved !== undefined && effective !== undefined && covers(effective, rulesFor(resolved)),
  };
}

const READ_VERBS = ["get", "list", "watch"];

/**
 * The narrowest named scope that lets the proxy account read (get, list,
 * watch) `resource` of `group` ("" for core): an extra, else the smallest
 * preset, else `custom-resources:<group>` for a CRD's group. Undefined when no
 * named scope grants it (e.g. ServiceAccounts or RBAC objects: custom rules).
 */
export function scopeForResource(group: string, resource: string): string | undefined {
  const need: Rule[] = [{ apiGroups: [group], resources: [resource], verbs: READ_VERBS }];
  const order = [...SCOPES.filter((s) => s.form !== "preset"), ...SCOPES.filter((s) => s.form === "preset")];
  const fixed = order.find((s) => covers(s.rules, need));
  if (fixed) return fixed.name;
  return isBuiltInGroup(group) ? undefined : customResourceScope(group).name;
}
