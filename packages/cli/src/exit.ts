/**
 * Exit codes of `daalu` (README "CLI" lists them; scripts may rely on them):
 *   0 ok, 1 error, 2 usage (bad arguments, or input the hub refused as invalid),
 *   3 not found, 4 unauthenticated or forbidden, 5 timeout, 6 hub unreachable.
 * `daalu kubectl` exits with kubectl's own code instead.
 */
export const EXIT = { ok: 0, error: 1, usage: 2, notFound: 3, auth: 4, timeout: 5, unreachable: 6 } as const;

/** An error the CLI reports as one line (plus what to do) and exits with `code`. */
export class CliError extends Error {
  override name = "CliError";
  constructor(
    message: string,
    readonly code: number,
    /** What the user can do about it, e.g. "run `daalu login`". */
    readonly hint?: string,
    /** The hub's stable problem reason, when the hub refused. */
    readonly reason?: string,
  ) {
    super(message);
  }
}

/** The exit code for an HTTP status the hub answered with. */
export function exitForStatus(status: number): number {
  if (status === 401 || status === 403) return EXIT.auth;
  if (status === 404) return EXIT.notFound;
  if (status === 408 || status === 504) return EXIT.timeout;
  if (status === 400 || status === 413 || status === 414 || status === 415 || status === 422) return EXIT.usage;
  return EXIT.error;
}

/** What to do about a refusal, by the hub's reason (else by status). */
export function hintFor(status: number, reason: string | undefined): string | undefined {
  switch (reason) {
    case "ADMIN_REQUIRED":
      return "this needs an admin token: ask an admin, or `daalu login` with an admin account";
    case "OPERATOR_REQUIRED":
      return "this needs an operator or admin token: `daalu login` with such an account";
    case "CLUSTER_NOT_FOUND":
      return "list your clusters with `daalu clusters ls`";
    case "SESSION_EXPIRED":
      return "run `daalu login`";
  }
  if (status === 401) return "run `daalu login`";
  if (status === 403) return "your token's role does not allow this";
  if (status === 429) return "try again in a moment";
  if (status >= 500) return "the hub failed; try again, and tell its operator the trace id if it persists";
  return undefined;
}
