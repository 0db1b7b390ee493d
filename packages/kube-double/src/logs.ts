/**
 * Container logs as the kubelet serves them through the API server:
 * per pod/container line buffers that tests append to, and followers
 * (`follow=true`) that see every appended line until the stream is ended.
 */
export interface LogLine {
  /** Kubelet-side timestamp of the line. */
  time: Date;
  text: string;
}

interface Follower {
  write(line: LogLine): void;
  end(): void;
}

const key = (ns: string, pod: string, container: string, previous = false) => `${ns}/${pod}/${container}${previous ? "#previous" : ""}`;

export class LogStore {
  private readonly lines = new Map<string, LogLine[]>();
  private readonly followers = new Map<string, Set<Follower>>();

  append(ns: string, pod: string, container: string, text: string | string[], opts: { time?: Date; previous?: boolean } = {}): void {
    const k = key(ns, pod, container, opts.previous);
    const buf = this.lines.get(k) ?? [];
    this.lines.set(k, buf);
    for (const t of Array.isArray(text) ? text : [text]) {
      const line = { time: opts.time ?? new Date(), text: t };
      buf.push(line);
      if (!opts.previous) for (const f of this.followers.get(k) ?? []) f.write(line);
    }
  }

  has(ns: string, pod: string, container: string, previous = false): boolean {
    return this.lines.has(key(ns, pod, container, previous));
  }

  read(ns: string, pod: string, container: string, previous = false): LogLine[] {
    return [...(this.lines.get(key(ns, pod, container, previous)) ?? [])];
  }

  follow(ns: string, pod: string, container: string, f: Follower): () => void {
    const k = key(ns, pod, container);
    const set = this.followers.get(k) ?? new Set();
    this.followers.set(k, set);
    set.add(f);
    return () => set.delete(f);
  }

  /** End every follow stream of a pod (one container, or all): what a container exit does to `logs -f`. */
  end(ns: string, pod: string, container?: string): void {
    for (const [k, set] of this.followers) {
      if (container ? k === key(ns, pod, container) : k.startsWith(`${ns}/${pod}/`)) {
        for (const f of [...set]) f.end();
        set.clear();
      }
    }
  }

  /** The RFC3339Nano form the kubelet prefixes lines with when `timestamps=true`. */
  static timestamp(d: Date): string {
    return d.toISOString().replace(/\.(\d{3})Z$/, (_, ms: string) => `.${ms}000000Z`);
  }
}
