#!/usr/bin/env node
/**
 * `daalu`: the operator CLI. It speaks only the gateway's REST API (see the
 * gateway's /openapi.json). Command modules load lazily, so `daalu --version`
 * and `daalu clusters ls` load only what they use. Exit codes: src/exit.ts.
 */
import { createRequire } from "node:module";
import { Command, CommanderError, Option } from "commander";
import { CliError, EXIT } from "./exit.js";
import { color, setColor, type Format } from "./render.js";
import { parseDuration } from "./time.js";

const { version } = createRequire(import.meta.url)("../package.json") as { version: string };

const output = () => new Option("-o, --output <format>", "output format").choices(["table", "json", "yaml"]).default("table");
type Out = { output: Format };

function buildProgram(): Command {
  const program = new Command("daalu")
    .description("Operate a Daalu hub: clusters behind outbound WireGuard tunnels, kubectl through them, audit and usage.")
    .version(version, "-v, --version")
    .option("--no-color", "no colours (also: NO_COLOR=1)")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride()
    .addHelpText(
      "after",
      `
Configuration: $DAALU_CONFIG or ~/.config/daalu/config.json (mode 0600); DAALU_HUB and DAALU_TOKEN override it.
Exit codes: 0 ok, 1 error, 2 usage, 3 not found, 4 unauthenticated or forbidden, 5 timeout, 6 hub unreachable;
\`daalu kubectl\` exits with kubectl's code.`,
    );
  program.hook("preAction", (cmd) => {
    const opts = cmd.optsWithGlobals<{ color?: boolean }>();
    if (opts.color === false || process.env["NO_COLOR"]) setColor(false);
  });

  program
    .command("login")
    .description("log in: with an API token (--token TOKEN, --token - for stdin, --token alone to be asked), else in the browser")
    .option("--hub <url>", "the hub's URL, e.g. https://hub.example.com")
    .option("--token [token]", "an API token; `-` reads it from stdin; without a value you are asked for it")
    .option("--tenant <id>", "remember this tenant (token login)")
    .option("--no-browser", "browser login: only print the URL, do not open a browser")
    .option("--timeout <duration>", "browser login: how long to wait for the sign-in", "5m")
    .action(async (o: { hub?: string; token?: string | true; tenant?: string; browser: boolean; timeout: string }) => {
      const { login } = await import("./commands/login.js");
      await login({ ...o, token: o.token === true ? "" : o.token });
    });
  program
    .command("logout")
    .description("forget the saved token")
    .action(async () => (await import("./commands/login.js")).logout());
  program
    .command("whoami")
    .description("the hub, tenant, user and role of the saved login (checks the token still works)")
    .addOption(output())
    .action(async (o: Out) => (await import("./commands/login.js")).whoami(o));

  const clusters = program.command("clusters").alias("cluster").description("the tenant's clusters");
  clusters
    .command("ls")
    .alias("list")
    .description("list clusters: status, tunnel IP, last handshake, edge version, API reachability")
    .addOption(output())
    .action(async (o: Out) => (await import("./commands/clusters.js")).clustersLs(o));
  clusters
    .command("show")
    .argument("<cluster>", "name or id")
    .description("one cluster in detail, with its latest diagnostic")
    .addOption(output())
    .action(async (c: string, o: Out) => (await import("./commands/clusters.js")).clustersShow(c, o));
  clusters
    .command("add")
    .argument("<name>", "the cluster's name (DNS label)")
    .description("add a cluster: prints the helm command (with its one-time token) to run in it")
    .option("--subnet <cidr>", "the tenant's tunnel subnet, when it has none yet (e.g. 10.100.0.0/24)")
    .option("--wait", "wait until the cluster is connected (spinner), then exit 0")
    .option("--timeout <duration>", "with --wait: give up after this long (exit 5)", "10m")
    .addOption(new Option("--poll-interval <duration>", "with --wait: how often to ask the hub").default("2s").hideHelp())
    .addOption(output())
    .action(async (name: string, o: Out & { subnet?: string; wait?: boolean; timeout: string; pollInterval: string }) => {
      const { clustersAdd } = await import("./commands/clusters.js");
      await clustersAdd(name, { ...o, timeoutMs: parseDuration("--timeout", o.timeout), intervalMs: parseDuration("--poll-interval", o.pollInterval) });
    });
  clusters
    .command("rm")
    .alias("delete")
    .argument("<cluster>", "name or id")
    .description("delete a cluster: its tunnel is cut and its address freed (asks first unless --yes)")
    .option("-y, --yes", "do not ask (required when not on a terminal)")
    .addOption(output())
    .action(async (c: string, o: Out & { yes?: boolean }) => (await import("./commands/clusters.js")).clustersRm(c, o));
  clusters
    .command("invite")
    .argument("<cluster>", "name or id")
    .description("a new invite for an existing cluster (re-enroll: keeps its address, new key)")
    .addOption(output())
    .action(async (c: string, o: Out) => (await import("./commands/clusters.js")).clustersInvite(c, o));

  program
    .command("kubeconfig")
    .argument("<cluster>", "name or id")
    .description("a kubeconfig for the cluster's Kubernetes API on the hub (https hubs)")
    .option("-o, --output-file <file>", "write it to this file (mode 0600) instead of stdout")
    .option("--no-token", "leave a placeholder instead of your token")
    .action(async (c: string, o: { outputFile?: string; token: boolean }) => (await import("./commands/kubectl.js")).kubeconfig(c, o));
  program
    .command("kubectl")
    .argument("<cluster>", "name or id")
    .argument("[args...]", "kubectl's arguments, after --")
    .description("run kubectl against the cluster through the hub: daalu kubectl CLUSTER -- get pods -A")
    .option("--remote", "run it on the hub's kubectl panel (read-only verbs) even when kubectl is installed here")
    .allowUnknownOption()
    .action(async (c: string, args: string[], o: { remote?: boolean }) => {
      const { kubectl } = await import("./commands/kubectl.js");
      process.exitCode = await kubectl(c, args, { remote: o.remote ?? false });
    });

  const drift = program.command("drift").description("drift detection: a cluster's desired state, the opt-in, checks and reports");
  drift
    .command("put")
    .argument("<cluster>", "name or id")
    .argument("<file>", "multi-document Kubernetes YAML; - reads stdin")
    .description("upload the cluster's desired state (admin); stored as the next version")
    .addOption(output())
    .action(async (c: string, f: string, o: Out) => (await import("./commands/drift.js")).driftPut(c, f, o));
  drift
    .command("get")
    .argument("<cluster>", "name or id")
    .option("--version <n>", "this version instead of the latest")
    .description("the desired state's objects (never a Secret value)")
    .addOption(output())
    .action(async (c: string, o: Out & { version?: string }) => (await import("./commands/drift.js")).driftGet(c, o));
  for (const on of [true, false]) {
    const cmd = drift
      .command(on ? "enable" : "disable")
      .argument("<cluster>", "name or id")
      .description(on ? "turn drift detection of the cluster on (admin; audited)" : "turn it off: no drift read goes through the cluster's tunnel (admin; audited)");
    if (on) cmd.option("--interval <seconds>", "seconds between scheduled checks (30..86400; default: keep, else 300)").option("--ignore <file>", "a JSON file of ignore rules [{kind, name?, namespace?, pointers}] replacing the current ones");
    cmd.addOption(output()).action(async (c: string, o: Out & { interval?: string; ignore?: string }) => (await import("./commands/drift.js")).driftEnable(c, on, o));
  }
  drift
    .command("check")
    .argument("<cluster>", "name or id")
    .description("check the cluster now (operator) and print the report")
    .addOption(output())
    .action(async (c: string, o: Out) => (await import("./commands/drift.js")).driftCheck(c, o));
  drift
    .command("report")
    .argument("<cluster>", "name or id")
    .description("the latest report: counts by state and every object's state, patch or error")
    .addOption(output())
    .action(async (c: string, o: Out) => (await import("./commands/drift.js")).driftReport(c, o));

  program
    .command("audit")
    .argument("[cluster]", "only this cluster (name or id)")
    .description("calls through the tunnels, newest first")
    .addOption(new Option("--caller-kind <kind>", "only callers of this kind").choices(["user", "assistant", "agent", "service", "edge"]))
    .option("--caller <id>", "only this caller id (e.g. a user name)")
    .option("--verb <verb>", "only this verb (get, list, watch, kubectl, ...)")
    .addOption(new Option("--outcome <outcome>", "only successes or failures").choices(["ok", "error"]))
    .option("--since <when>", "only calls since a duration ago (1h, 7d) or an RFC 3339 time")
    .option("--limit <n>", "at most this many rows", "50")
    .addOption(output())
    .action(async (c: string | undefined, o: Parameters<typeof import("./commands/audit.js").audit>[1]) => (await import("./commands/audit.js")).audit(c, o));
  program
    .command("usage")
    .argument("[cluster]", "only this cluster (name or id)")
    .description("metering: calls, errors, sessions (exec, attach, port-forward) and bytes through the tunnels per hour or day")
    .addOption(new Option("--granularity <g>", "bucket size").choices(["hour", "day"]).default("day"))
    .option("--since <when>", "from a duration ago (24h, 30d) or an RFC 3339 time", "7d")
    .addOption(output())
    .action(async (c: string | undefined, o: Out & { granularity: string; since: string }) => (await import("./commands/audit.js")).usage(c, o));
  return program;
}

function report(err: CliError): void {
  const c = color();
  const reason = err.reason ? ` (${err.reason})` : "";
  process.stderr.write(`${c.red("error:")} ${err.message}${reason}${err.hint ? ` — ${err.hint}` : ""}\n`);
}

async function main(argv: string[]): Promise<void> {
  if (argv.includes("--no-color")) setColor(false);
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are not errors; anything else commander refuses is bad usage (it printed why).
      process.exitCode = err.code === "commander.helpDisplayed" || err.code === "commander.version" || err.code === "commander.help" ? EXIT.ok : EXIT.usage;
      return;
    }
    if (err instanceof CliError) {
      report(err);
      process.exitCode = err.code;
      return;
    }
    process.stderr.write(`${color().red("error:")} ${(err as Error)?.message ?? String(err)}\n`);
    process.exitCode = EXIT.error;
  }
}

await main(process.argv);
