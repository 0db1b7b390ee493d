/**
 * The QueryCalls page token: an opaque base64url form of the position
 * (time, id) of the last row returned. Rows are ordered by (time desc, id
 * desc), a total order, so the next page starts strictly after that position:
 * no gaps and no duplicates, even while new rows arrive. Pure.
 */
import { isUuid } from "@daalu/runtime/pure";

export interface CallPosition {
  time: Date;
  id: string;
}

const VERSION = 1;

export function encodeCursor(p: CallPosition): string {
  return Buffer.from(JSON.stringify([VERSION, p.time.getTime(), p.id]), "utf8").toString("base64url");
}

/** The position in a token, or undefined when it is not one of ours. */
export function decodeCursor(token: string): CallPosition | undefined {
  if (token.length > 200 || !/^[A-Za-z0-9_-]+$/.test(token)) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch {
    return undefined;
  }
  if (!Array.isArray(v) || v.length !== 3 || v[0] !== VERSION) return undefined;
  const [, ms, id] = v as [unknown, unknown, unknown];
  if (typeof ms !== "number" || !Number.isSafeInteger(ms) || typeof id !== "string" || !isUuid(id) || id !== id.toLowerCase()) return undefined;
  const time = new Date(ms);
  if (!Number.isFinite(time.getTime())) return undefined;
  return { time, id };
}
