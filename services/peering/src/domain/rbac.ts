/**
 * When a widening request counts as applied: the edge's latest report, if it
 * is an answer (no error), grants every rule the requested scopes and custom
 * rules give (@daalu/rbac, the same rules the generated patch holds).
 */
import { covers, resolve, rulesFor, ScopeError, type Rule } from "@daalu/rbac";

export interface RbacState {
  requestedScopes: string[];
  requestedCustomRules: Rule[];
  requestedAt: Date | null;
  effectiveRules: Rule[] | null;
  effectiveError: string;
}

export function isApplied(s: RbacState): boolean {
  if (s.requestedAt === null || s.effectiveRules === null || s.effectiveError !== "") return false;
  try {
    return covers(s.effectiveRules, rulesFor(resolve({ scopes: s.requestedScopes, customRules: s.requestedCustomRules })));
  } catch (err) {
    // A scope this hub no longer knows cannot be confirmed.
    if (err instanceof ScopeError) return false;
    throw err;
  }
}
