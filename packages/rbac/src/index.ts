/**
 * @daalu/rbac: the one source of the edge proxy account's named RBAC scopes
 * (pure, no I/O). The hub generates widening patches from it, the edge chart
 * tests derive their tables from it, and drift detection links a Forbidden
 * object to the scope that fixes it.
 */
export { covers, READ, type Rule } from "./rules.js";
export { CUSTOM_RESOURCES, PRESET_NAMES, presetRules, SCOPES, type PresetName, type Scope } from "./scopes.js";
export { fullname, generatePatch, proxyAccountName, proxyRoleName, resolve, rulesFor, ScopeError, scopeNamed, type ChartTarget, type Patch, type Resolved, type Selection } from "./generate.js";
export { rbacView, scopeForResource, type RbacView, type ScopeState } from "./status.js";
