/** What every bench's command line and report share: numeric flags, percentiles, rounding, the exit. */

/** `--name N` from the command line, `def` when absent; a non-number or a negative is an error. */
export function numArg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : def;
  if (!Number.isFinite(v) || v < 0) throw new Error(`--${name} must be a number`);
  return v;
}

/** The p-th percentile of ascending `sorted` (nearest rank below), 0 when empty. */
export const pct = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : 0);
export const r2 = (x: number) => Math.round(x * 100) / 100;
export const r3 = (x: number) => Math.round(x * 1000) / 1000;
export const log = (s: string) => process.stdout.write(`${s}\n`);

/** Runs the bench and exits with its code (1 and the stack on a throw). */
export function runMain(main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`${(err as Error).stack ?? err}\n`);
      process.exit(1);
    },
  );
}
