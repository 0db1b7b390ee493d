/**
 * THE table of what a one-shot kubectl run may say: per allowed verb, every
 * allowed flag with its exact arity as kubectl's flag parser (spf13/pflag)
 * sees it. `bool` flags take no separate value (`--flag`, `--flag=true|false`);
 * `value` flags take the next argument unless written `--flag=value`. A flag
 * listed with the wrong arity is exactly how an argument slips past the check
 * unseen, so test/kubectl-run-table.test.ts compares every entry with
 * `kubectl <verb> --help` and `kubectl options` of every installed kubectl.
 *
 * Nothing here may change where kubectl connects, which credentials or files
 * it uses, its cache, profiling, verbosity or logging: no --kubeconfig,
 * --server/-s, --token, --user, --context, --cluster, --as*, certificate or
 * TLS flags, --cache-dir, --profile*, -v/--v, --vmodule, --log-*, --username,
 * --password, no -f/-k (files), no follow or watch (streams).
 */

export type Arity = "bool" | "value";

export interface FlagSpec {
  arity: Arity;
  /** One-letter form (`-n`), when kubectl has one. */
  short?: string;
  /** Extra check of the value: a refusal message, or undefined when fine. */
  check?: (value: string) => string | undefined;
  /** cobra's own help flag: not listed by kubectl's help templates. */
  builtin?: true;
}

/** Output formats that only format; the *-file variants read local files. */
const OUTPUT = /^(json|yaml|wide|name|plaintext|plaintext-openapiv2)$|^(jsonpath|jsonpath-as-json|go-template|template|custom-columns)(=[\s\S]*)?$/;

const output: FlagSpec = {
  arity: "value",
  short: "o",
  check: (v) => (OUTPUT.test(v) ? undefined : `output format "${v.slice(0, 40)}" is not allowed (json, yaml, wide, name, jsonpath=, go-template=, custom-columns=; no *-file formats)`),
};
/** Watching never ends within a one-shot run: only --watch=false is accepted. */
const watchOff: FlagSpec = { arity: "bool", short: "w", check: (v) => (v === "false" ? undefined : "watching is not available in one-shot runs (--watch=false is)") };
const raw: FlagSpec = {
  arity: "value",
  check: (v) => (v.startsWith("/") && !v.startsWith("//") ? undefined : "--raw takes an absolute API path such as /api/v1/namespaces"),
};
const bool: FlagSpec = { arity: "bool" };
const value: FlagSpec = { arity: "value" };
const allNamespaces: FlagSpec = { arity: "bool", short: "A" };
const selector: FlagSpec = { arity: "value", short: "l" };
const recursive: FlagSpec = { arity: "bool", short: "R" };
const printing = { "allow-missing-template-keys": bool, template: value, "show-managed-fields": bool, output } as const;

/** Global flags every verb accepts (a subset of `kubectl options`). */
export const GLOBAL_FLAGS: Readonly<Record<string, FlagSpec>> = {
  namespace: { arity: "value", short: "n" },
  "request-timeout": value,
  help: { arity: "bool", short: "h", builtin: true },
};

export const VERB_FLAGS = {
  get: {
    ...printing,
    "all-namespaces": allNamespaces,
    selector,
    "field-selector": value,
    "show-labels": bool,
    "label-columns": { arity: "value", short: "L" },
    "sort-by": value,
    "no-headers": bool,
    "show-kind": bool,
    "chunk-size": value,
    "ignore-not-found": bool,
    raw,
    subresource: value,
    recursive,
    watch: watchOff,
  },
  describe: { "all-namespaces": allNamespaces, selector, "show-events": bool, "chunk-size": value, recursive },
  logs: {
    container: { arity: "value", short: "c" },
    "all-containers": bool,
    previous: { arity: "bool", short: "p" },
    timestamps: bool,
    tail: value,
    since: value,
    "since-time": value,
    "limit-bytes": value,
    prefix: bool,
    "max-log-requests": value,
    "ignore-errors": bool,
    "pod-running-timeout": value,
    selector,
  },
  events: { ...printing, "all-namespaces": allNamespaces, for: value, types: value, "no-headers": bool, "chunk-size": value, watch: watchOff },
  "api-resources": { "api-group": value, cached: bool, categories: value, namespaced: bool, verbs: value, "no-headers": bool, output, "sort-by": value },
  "api-versions": {},
  // Only kubectl 1.32 gives explain's --output the short form -o.
  explain: { "api-version": value, output: { arity: "value", check: output.check! }, recursive: bool },
  version: { client: bool, output },
  "rollout status": { revision: value, selector, timeout: value, watch: watchOff, recursive },
  "rollout history": { ...printing, revision: value, selector, recursive },
  // Questions about the edge's own access and identity (self access reviews, the only creations the edge forwards).
  "auth can-i": { "all-namespaces": allNamespaces, list: bool, "no-headers": bool, quiet: { arity: "bool", short: "q" }, subresource: value },
  "auth whoami": printing,
} as const satisfies Record<string, Record<string, FlagSpec>>;

export type VerbKey = keyof typeof VERB_FLAGS;

/** Every flag `verb` accepts, keyed by long name. */
export function flagsOf(verb: VerbKey): Readonly<Record<string, FlagSpec>> {
  return { ...GLOBAL_FLAGS, ...(VERB_FLAGS[verb] as Record<string, FlagSpec>) };
}
