import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { GLOBAL_FLAGS, VERB_FLAGS, type Arity, type VerbKey } from "../src/domain/kubectl-argv-table.js";
import { binaries, help, helpEnv, parseHelp, run } from "./kubectl-run-help.js";

// The flag table of one-shot kubectl runs against the installed kubectl's own
// help: every flag in the table must exist for its verb with the same arity
// and the same short form (a table entry may leave a short form out: it is
// then refused). The arity decides which argument kubectl parses as
// the next flag, so a kubectl upgrade that turns a boolean into a value flag
// (or back) must fail here before the table lets an argument through unseen.
//
// pflag's usage line shows a boolean as `--flag=false` / `--flag=true` and
// everything else with its typed default (`--flag=''`, `--flag=[]`,
// `--flag=500`, `--flag=0s`). The kubectl dispatcher (Google Cloud SDK)
// execs a version-matched kubectl.1.NN beside it: every one of them is checked.

const bins = binaries();

test("the parser recognises pflag's usage lines", () => {
  const h = parseHelp("Options:\n    -A, --all-namespaces=false:\n\tIf present...\n\n    --chunk-size=500:\n    -o, --output='':\n    --types=[]:\n    -v, --v=0:\n    --vmodule=:\n");
  assert.deepEqual(Object.fromEntries(h), {
    "all-namespaces": { arity: "bool", short: "A" },
    "chunk-size": { arity: "value", short: undefined },
    output: { arity: "value", short: "o" },
    types: { arity: "value", short: undefined },
    v: { arity: "value", short: "v" },
    vmodule: { arity: "value", short: undefined },
  });
});

for (const bin of bins) {
  test(`the flag table matches ${path.basename(bin)}'s own help`, async () => {
    const globals = await help(bin, ["options"]);
    assert.ok(globals.size > 10, `kubectl options listed ${globals.size} flags`);
    const problems: string[] = [];
    for (const [name, spec] of Object.entries(GLOBAL_FLAGS)) {
      if (spec.builtin) continue;
      const h = globals.get(name);
      if (!h) problems.push(`global --${name} is not in kubectl options`);
      else if (h.arity !== spec.arity || (spec.short !== undefined && h.short !== spec.short)) problems.push(`global --${name}: table ${spec.arity} -${spec.short ?? ""}, kubectl ${h.arity} -${h.short ?? ""}`);
    }
    const verbs = Object.keys(VERB_FLAGS) as VerbKey[];
    const helps = await Promise.all(verbs.map((v) => help(bin, [...v.split(" "), "--help"])));
    verbs.forEach((verb, i) => {
      const own = helps[i]!;
      for (const [name, spec] of Object.entries(VERB_FLAGS[verb] as Record<string, { arity: Arity; short?: string }>)) {
        // A verb's flag must not shadow a global of another arity either.
        const h = own.get(name);
        if (!h) problems.push(`${verb} --${name} is not in \`kubectl ${verb} --help\``);
        else if (h.arity !== spec.arity || (spec.short !== undefined && h.short !== spec.short)) problems.push(`${verb} --${name}: table ${spec.arity} -${spec.short ?? ""}, kubectl ${h.arity} -${h.short ?? ""}`);
      }
      // Globals the verb redefines (e.g. a verb-level --namespace) would change their arity.
      for (const name of Object.keys(GLOBAL_FLAGS)) if (own.has(name) && own.get(name)!.arity !== GLOBAL_FLAGS[name]!.arity) problems.push(`${verb} redefines --${name}`);
    });
    assert.deepEqual(problems, []);
  });
}

test("cobra's built-in -h/--help prints help and exits 0", { skip: bins.length === 0 && "kubectl is not installed" }, async () => {
  const r = await run(bins[0]!, ["get", "-h"], { env: helpEnv, timeout: 20_000 });
  assert.match(r.stdout, /^Usage:/m);
});

test("kubectl is installed (the table checks above need it)", () => {
  assert.ok(bins.length > 0, "no kubectl on PATH");
});
