/** The kubectl panel's command line as argv (pure: unit-tested in web/test). */
import { parse } from "shell-quote";

/** The words of a command line as kubectl gets them (quotes honoured, no shell features). */
export function argvOf(line: string): string[] | string {
  let words: ReturnType<typeof parse>;
  try {
    words = parse(line.trim(), (name) => `$${name}`);
  } catch (err) {
    return `The command could not be read: ${err instanceof Error ? err.message : String(err)}`;
  }
  const argv: string[] = [];
  for (const w of words) {
    if (typeof w === "string") argv.push(w);
    else if ("op" in w && w.op === "glob") argv.push(w.pattern);
    else if ("comment" in w) break;
    else return "Pipes, redirections and command lists are not run: the panel runs one kubectl command.";
  }
  if (argv[0] === "kubectl") argv.shift();
  if (argv.length === 0) return "Type a kubectl command, e.g. get pods -A.";
  return argv;
}

