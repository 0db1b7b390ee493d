/**
 * A container's file system, in memory, one per pod: what `cat`, `test` and
 * `tar` (behind `kubectl cp`) read and write. Paths are absolute POSIX paths;
 * nothing can reach outside "/".
 */
import { posix } from "node:path";

export type FsEntry = { type: "dir"; mode: number; mtime: Date } | { type: "file"; mode: number; mtime: Date; data: Buffer };

export class PodFs {
  private readonly entries = new Map<string, FsEntry>();

  constructor(hostname: string) {
    for (const d of ["/", "/etc", "/tmp", "/root", "/var", "/var/log"]) this.entries.set(d, { type: "dir", mode: 0o755, mtime: new Date() });
    this.writeFile("/etc/hostname", Buffer.from(`${hostname}\n`));
  }

  /** `p` made absolute against `cwd` and normalized; `..` stops at "/". */
  static resolve(p: string, cwd = "/"): string {
    return posix.resolve("/", cwd, p);
  }

  stat(p: string): FsEntry | undefined {
    return this.entries.get(PodFs.resolve(p));
  }

  readFile(p: string): Buffer | undefined {
    const e = this.stat(p);
    return e?.type === "file" ? e.data : undefined;
  }

  /** Create the directory and its missing parents; false if a file is in the way. */
  mkdirp(p: string, mode = 0o755): boolean {
    const abs = PodFs.resolve(p);
    const e = this.entries.get(abs);
    if (e) return e.type === "dir";
    if (abs !== "/" && !this.mkdirp(posix.dirname(abs))) return false;
    this.entries.set(abs, { type: "dir", mode, mtime: new Date() });
    return true;
  }

  /** Write a whole file, creating its parent directories; false if a directory is in the way. */
  writeFile(p: string, data: Buffer, mode = 0o644, mtime = new Date()): boolean {
    const abs = PodFs.resolve(p);
    if (this.entries.get(abs)?.type === "dir" || !this.mkdirp(posix.dirname(abs))) return false;
    this.entries.set(abs, { type: "file", mode, mtime, data });
    return true;
  }

  /** The paths under a directory (not itself), sorted, parents before children. */
  walk(dir: string): string[] {
    const abs = PodFs.resolve(dir);
    const prefix = abs === "/" ? "/" : `${abs}/`;
    return [...this.entries.keys()].filter((k) => k !== abs && k.startsWith(prefix)).sort();
  }
}
