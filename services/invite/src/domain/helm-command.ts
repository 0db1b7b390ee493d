/**
 * The copy-paste install command shown with a new token, in exactly the
 * documented form (README, issue 2):
 *
 *   helm install daalu-edge <chartRef> --namespace daalu-edge --create-namespace \
 *     --set hub.url=<hubUrl> --set bootstrap.token=<token>
 *
 * (on one line). Tokens, URLs and chart refs are restricted to shell-safe
 * characters, so nothing needs quoting; anything else is refused rather than
 * producing a command that would do something different when pasted.
 */
const SHELL_SAFE = /^[A-Za-z0-9_\-./:@%+=~]+$/;

/** True when `v` can be pasted into a shell command without quoting (config validates hub URL and chart ref with it). */
export function isShellSafe(v: string): boolean {
  return SHELL_SAFE.test(v);
}

export function helmCommand(opts: { chartRef: string; hubUrl: string; token: string }): string {
  for (const [name, v] of Object.entries(opts)) {
    if (!isShellSafe(v)) throw new Error(`helmCommand: ${name} contains characters that are not shell-safe`);
  }
  return `helm install daalu-edge ${opts.chartRef} --namespace daalu-edge --create-namespace --set hub.url=${opts.hubUrl} --set bootstrap.token=${opts.token}`;
}
