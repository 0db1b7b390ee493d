import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from "node:crypto";

/**
 * Password hashing with scrypt (node:crypto, memory-hard): N = 2^15, r = 8,
 * p = 1 costs 32 MiB and tens of milliseconds per guess. Stored as
 * `$scrypt$ln=15,r=8,p=1$<salt>$<hash>` (base64url), so the parameters can be
 * raised later without invalidating stored hashes. Node's built-in scrypt
 * needs no native add-on and runs on libuv's thread pool, off the event loop.
 */
const LOG_N = 15;
const R = 8;
const P = 1;
const KEY_LEN = 32;
const SALT_LEN = 16;
/** Refuse absurd stored parameters (a corrupted row must not allocate gigabytes). */
const MAX_LOG_N = 20;
/** Passwords longer than this are refused before any work (the KDF's input is bounded). */
export const MAX_PASSWORD_LENGTH = 1024;
/** Chosen passwords (`user add` from stdin) are at least this long. */
export const MIN_PASSWORD_LENGTH = 12;

function derive(password: string, salt: Buffer, logN: number, r: number, p: number): Promise<Buffer> {
  const N = 2 ** logN;
  // scrypt needs 128 * N * r bytes; allow twice that.
  const opts: ScryptOptions = { N, r, p, maxmem: 256 * N * r };
  return new Promise((resolve, reject) => scrypt(password.normalize("NFC"), salt, KEY_LEN, opts, (err, key) => (err ? reject(err) : resolve(key))));
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_LEN);
  const key = await derive(password, salt, LOG_N, R, P);
  return `$scrypt$ln=${LOG_N},r=${R},p=${P}$${salt.toString("base64url")}$${key.toString("base64url")}`;
}

const FORMAT = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9_-]{16,64})\$([A-Za-z0-9_-]{43})$/;
// Compared against when there is no user (or no password): same work, always false.
const DUMMY = `$scrypt$ln=${LOG_N},r=${R},p=${P}$${Buffer.alloc(SALT_LEN).toString("base64url")}$${Buffer.alloc(KEY_LEN).toString("base64url")}`;

/**
 * True when `password` matches `stored`, compared in constant time. With no
 * stored hash (unknown user, OIDC-only user) the same KDF work is done
 * against a dummy and the answer is false, so timing tells nothing.
 */
export async function verifyPassword(password: string, stored: string | null | undefined): Promise<boolean> {
  const m = FORMAT.exec(stored ?? DUMMY) ?? FORMAT.exec(DUMMY)!;
  const [logN, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (logN > MAX_LOG_N || r < 1 || p < 1 || r * p > 64) return false;
  const expected = Buffer.from(m[5]!, "base64url");
  const key = await derive(password.slice(0, MAX_PASSWORD_LENGTH), Buffer.from(m[4]!, "base64url"), logN, r, p);
  const same = key.length === expected.length && timingSafeEqual(key, expected);
  return same && stored !== undefined && stored !== null && stored !== DUMMY;
}

/** A generated password: 144 random bits, base64url (24 characters). */
export function generatePassword(): string {
  return randomBytes(18).toString("base64url");
}
