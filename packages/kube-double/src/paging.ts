/**
 * List chunking as kube-apiserver does it (`limit`, `continue`): a page of at
 * most `limit` items in key order, a continue token that resumes after the
 * page's last key at the resourceVersion of the first page, and
 * `remainingItemCount` when the list has no selector (a real server cannot
 * count what a selector would keep without reading it all, so it leaves it
 * out then). Unlike etcd, later pages see the objects as they are now, not a
 * snapshot at that resourceVersion.
 */
import type { KubeObject } from "./store.js";
import { badRequest } from "./status.js";

interface Token { rv: string; start: string }

const keyOf = (o: KubeObject) => `${o.metadata["namespace"] ?? ""}/${o.metadata["name"]}`;

function decode(token: string): Token {
  try {
    const t = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as Token;
    if (typeof t.rv === "string" && typeof t.start === "string") return t;
  } catch {
    // answered below
  }
  throw badRequest("continue key is not valid: illegal base64 data at input byte 0");
}

export interface Page {
  items: KubeObject[];
  resourceVersion: string;
  continueToken?: string;
  remainingItemCount?: number;
}

/** One page of `items` (sorted by namespace/name, as the store lists them). */
export function pageOf(items: KubeObject[], limitParam: string | null, continueParam: string | null, currentRv: string, selected: boolean): Page {
  let rv = currentRv;
  let rest = items;
  if (continueParam) {
    const t = decode(continueParam);
    rv = t.rv;
    rest = items.filter((o) => keyOf(o) > t.start);
  }
  const limit = Number(limitParam ?? "");
  if (!Number.isInteger(limit) || limit <= 0 || rest.length <= limit) return { items: rest, resourceVersion: rv };
  const page = rest.slice(0, limit);
  const continueToken = Buffer.from(JSON.stringify({ rv, start: keyOf(page[page.length - 1]!) })).toString("base64url");
  return { items: page, resourceVersion: rv, continueToken, ...(selected ? {} : { remainingItemCount: rest.length - limit }) };
}
