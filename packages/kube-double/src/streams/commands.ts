/**
 * The double's container: a small fixed set of commands, written in
 * TypeScript, over the pod's in-memory file system. Anything else exits 127
 * with the shell's "not found", as a container without that binary does.
 */
import { setTimeout as sleepFor } from "node:timers/promises";
import { parse } from "shell-quote";
import { readStdin, type Command, type Proc } from "./process.js";
import { tarCommand } from "./tar.js";

async function cat(argv: string[], p: Proc): Promise<number> {
  const files = argv.slice(1);
  if (files.length === 0 || (files.length === 1 && files[0] === "-")) {
    for await (const c of readStdin(p)) await p.out(c);
    return 0;
  }
  let code = 0;
  for (const f of files) {
    const e = p.fs.stat(f);
    if (e?.type === "file") await p.out(e.data);
    else {
      await p.err(`cat: ${f}: ${e ? "Is a directory" : "No such file or directory"}\n`);
      code = 1;
    }
  }
  return code;
}

async function echo(argv: string[], p: Proc): Promise<number> {
  const noNewline = argv[1] === "-n";
  const words = argv.slice(noNewline ? 2 : 1);
  await p.out(words.join(" ") + (noNewline ? "" : "\n"));
  return 0;
}

/** `sleep N`: ends after N seconds, at once when the session ends (143, killed), or on Ctrl-C under a TTY (130, SIGINT). */
async function sleep(argv: string[], p: Proc): Promise<number> {
  const seconds = Number(argv[1]);
  if (!Number.isFinite(seconds) || seconds < 0) {
    await p.err(`sleep: invalid time interval '${argv[1] ?? ""}'\n`);
    return 1;
  }
  const interrupt = p.interrupt();
  try {
    await sleepFor(seconds * 1000, undefined, { signal: AbortSignal.any([p.signal, interrupt]) });
    return 0;
  } catch {
    return interrupt.aborted ? 130 : 143;
  }
}

/** `stty size` prints "ROWS COLS" of the terminal, as the last resize set it. */
async function stty(argv: string[], p: Proc): Promise<number> {
  const s = p.size();
  if (argv[1] !== "size" || !p.tty || !s) {
    await p.err("stty: 'standard input': Inappropriate ioctl for device\n");
    return 1;
  }
  await p.out(`${s.height} ${s.width}\n`);
  return 0;
}

async function test(argv: string[], p: Proc): Promise<number> {
  const [, flag, path] = argv;
  if (!path) return 1;
  const e = p.fs.stat(path);
  if (flag === "-d") return e?.type === "dir" ? 0 : 1;
  if (flag === "-f") return e?.type === "file" ? 0 : 1;
  if (flag === "-e") return e ? 0 : 1;
  return 2;
}

async function mkdir(argv: string[], p: Proc): Promise<number> {
  for (const d of argv.slice(1).filter((a) => !a.startsWith("-"))) if (!p.fs.mkdirp(d)) return 1;
  return 0;
}

/** `sh -c 'SCRIPT'` runs the script; `sh` alone (or -i) is the interactive echo shell. */
async function sh(argv: string[], p: Proc): Promise<number> {
  if (argv[1] === "-c") return runScript(argv[2] ?? "", p);
  return interactiveShell(p);
}

export const COMMANDS: Readonly<Record<string, Command>> = {
  cat, echo, sleep, stty, test, mkdir, tar: tarCommand, sh,
  hostname: async (_argv, p) => (await p.out(`${p.hostname}\n`), 0),
  true: async () => 0,
  false: async () => 1,
  exit: async (argv) => Number(argv[1] ?? 0) & 0xff,
};

/** Run one command; `/bin/cat` runs `cat`. */
export async function runCommand(argv: string[], p: Proc): Promise<number> {
  const name = argv[0] ?? "";
  const cmd = COMMANDS[name.replace(/^\/(usr\/)?bin\//, "")];
  if (!cmd) {
    await p.err(`sh: ${name}: not found\n`);
    return 127;
  }
  return cmd(argv, p);
}

/** A script of simple commands joined by `;`, `&&`, `||`; `exit N` stops it with N. No pipes, no expansions. */
export async function runScript(script: string, p: Proc): Promise<number> {
  let code = 0;
  let words: string[] = [];
  let skip = false;
  const run = async (): Promise<boolean> => {
    if (words.length > 0 && !skip) {
      code = await runCommand(words, p);
      if (words[0] === "exit") return true;
    }
    words = [];
    return false;
  };
  for (const tok of parse(script)) {
    if (typeof tok === "string") {
      words.push(tok);
      continue;
    }
    if (!("op" in tok)) continue; // comments and globs are not run
    if (await run()) return code;
    skip = (tok.op === "&&" && code !== 0) || (tok.op === "||" && code === 0);
  }
  await run();
  return code;
}

/**
 * The interactive shell: a "$ " prompt, each line run as a script. With a
 * TTY it also does what the terminal would: echo typed characters, Ctrl-C
 * drops the line, Ctrl-D on an empty line ends the shell.
 */
async function interactiveShell(p: Proc): Promise<number> {
  const prompt = async () => {
    if (p.tty) await p.out("$ ");
  };
  await prompt();
  let line = "";
  let last = 0;
  for await (const chunk of readStdin(p)) {
    for (const ch of chunk.toString("utf8")) {
      if (p.tty && ch === "\x03") {
        line = "";
        await p.out("^C\n");
        await prompt();
      } else if (p.tty && ch === "\x04" && line === "") {
        await p.out("exit\n");
        return last;
      } else if (p.tty && (ch === "\x7f" || ch === "\b")) {
        if (line) await p.out("\b \b");
        line = line.slice(0, -1);
      } else if (ch === "\r" || ch === "\n") {
        if (p.tty) await p.out("\n");
        const script = line.trim();
        line = "";
        if (script) {
          last = await runScript(script, p);
          if (/^exit(\s|$)/.test(script)) return last;
        }
        await prompt();
      } else {
        line += ch;
        if (p.tty) await p.out(ch);
      }
    }
  }
  return last;
}

