/**
 * RBAC rules as a ClusterRole holds them, and the one coverage rule: whether a
 * set of granted rules (a ClusterRole's, or what SelfSubjectRulesReview
 * reports) allows every request another set of rules would allow.
 */

/** One PolicyRule of a ClusterRole (resource rules only). */
export interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

/** The verbs of a read. */
export const READ: readonly string[] = ["get", "list", "watch"];

const has = (list: readonly string[], v: string) => list.includes("*") || list.includes(v);

function resourceMatches(granted: readonly string[], resource: string): boolean {
  if (granted.includes("*") || granted.includes(resource)) return true;
  const slash = resource.indexOf("/");
  // "pods/*" grants every subresource of pods; "*/scale" the scale of every resource.
  return slash > 0 && (granted.includes(`${resource.slice(0, slash)}/*`) || granted.includes(`*${resource.slice(slash)}`));
}

/** Whether `rule` allows `verb` on group/resource (and, when the needed rule names objects, on each of them). */
function allows(rule: Rule, group: string, resource: string, verb: string, names: readonly string[] | undefined): boolean {
  if (!has(rule.verbs, verb) || !has(rule.apiGroups, group) || !resourceMatches(rule.resources, resource)) return false;
  if (!rule.resourceNames || rule.resourceNames.length === 0) return true;
  return names !== undefined && names.length > 0 && names.every((n) => rule.resourceNames!.includes(n));
}

/**
 * Every (group, resource, verb) that `needed` names, allowed by some rule of
 * `granted`. A wildcard in `needed` is covered only by the same wildcard.
 */
export function covers(granted: readonly Rule[], needed: readonly Rule[]): boolean {
  return needed.every((n) =>
    n.apiGroups.every((g) => n.resources.every((r) => n.verbs.every((v) => granted.some((rule) => allows(rule, g, r, v, n.resourceNames))))),
  );
}

/** A rule copied with only the fields a ClusterRole rule has, in a fixed key order (resourceNames only when set). */
export function normalRule(r: Rule): Rule {
  return {
    apiGroups: [...r.apiGroups],
    resources: [...r.resources],
    ...(r.resourceNames && r.resourceNames.length > 0 ? { resourceNames: [...r.resourceNames] } : {}),
    verbs: [...r.verbs],
  };
}
