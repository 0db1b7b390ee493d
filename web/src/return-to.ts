/**
 * Where sign-in sends the person next: a same-origin relative path from
 * `?returnTo=` (the CLI's browser login uses it), else /clusters. Anything
 * that could leave the origin (absolute URLs, //host, backslashes, schemes)
 * is refused.
 */
export function safeReturnTo(raw: string | null, origin: string): string {
  if (!raw || !raw.startsWith("/") || raw.startsWith("//") || raw.includes("\\")) return "/clusters";
  try {
    const u = new URL(raw, origin);
    if (u.origin !== origin) return "/clusters";
    return u.pathname + u.search + u.hash;
  } catch {
    return "/clusters";
  }
}
