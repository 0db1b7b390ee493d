/**
 * Envelope encryption of secrets at rest (the hub's WireGuard private key).
 *
 * Each secret gets its own random data-encryption key (DEK); the secret is
 * sealed with AES-256-GCM under the DEK, and the DEK is wrapped with
 * AES-256-GCM under a key-encryption key (KEK) from PEERING_KEY_ENCRYPTION_KEYS.
 * The additional authenticated data binds each ciphertext to its row (and the
 * wrapped DEK to its KEK id), so a ciphertext copied to another row does not
 * open. The first KEK seals; every listed KEK opens, so a KEK is rotated by
 * putting the new one first and keeping the old one until every row has been
 * re-wrapped (peering does that at start). Primitives are node:crypto's.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { inspect } from "node:util";

const ALG = "aes-256-gcm";
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
const KEK_ID = /^[A-Za-z0-9_.-]{1,64}$/;

/** A sealed secret as stored: each buffer is iv ‖ ciphertext ‖ tag. */
export interface Sealed {
  kekId: string;
  wrappedDek: Buffer;
  ciphertext: Buffer;
}

/** Why PEERING_KEY_ENCRYPTION_KEYS was refused; never quotes key material. */
export class KeyRingParseError extends Error {
  override name = "KeyRingParseError";
}

/** A sealed secret that no configured KEK opens (missing id, wrong key, or tampered row). */
export class KeyRingOpenError extends Error {
  override name = "KeyRingOpenError";
}

function gcmSeal(key: Buffer, plaintext: Buffer, aad: string): Buffer {
  const iv = randomBytes(IV_BYTES);
  const c = createCipheriv(ALG, key, iv, { authTagLength: TAG_BYTES });
  c.setAAD(Buffer.from(aad, "utf8"));
  return Buffer.concat([iv, c.update(plaintext), c.final(), c.getAuthTag()]);
}

function gcmOpen(key: Buffer, sealed: Buffer, aad: string): Buffer {
  if (sealed.length < IV_BYTES + TAG_BYTES) throw new Error("sealed value too short");
  const d = createDecipheriv(ALG, key, sealed.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
  d.setAAD(Buffer.from(aad, "utf8"));
  d.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  return Buffer.concat([d.update(sealed.subarray(IV_BYTES, sealed.length - TAG_BYTES)), d.final()]);
}

const dekAad = (context: string, kekId: string) => `daalu/dek/${kekId}/${context}`;
const secretAad = (context: string) => `daalu/secret/${context}`;

/** The configured KEKs. Holds key material: it prints and serialises as its ids only. */
export class KeyRing {
  readonly #keys: Map<string, Buffer>;
  /** The id of the KEK that seals (the first one listed). */
  readonly currentId: string;

  constructor(entries: Array<{ id: string; key: Buffer }>) {
    if (entries.length === 0) throw new KeyRingParseError("at least one key is required");
    this.#keys = new Map(entries.map((e) => [e.id, Buffer.from(e.key)]));
    this.currentId = entries[0]!.id;
  }

  get ids(): string[] {
    return [...this.#keys.keys()];
  }

  /** Seals `secret` for the row named by `context` under a fresh DEK wrapped by the current KEK. */
  seal(secret: Buffer, context: string): Sealed {
    const dek = randomBytes(KEY_BYTES);
    try {
      return { kekId: this.currentId, wrappedDek: gcmSeal(this.#keys.get(this.currentId)!, dek, dekAad(context, this.currentId)), ciphertext: gcmSeal(dek, secret, secretAad(context)) };
    } finally {
      dek.fill(0);
    }
  }

  /** Opens what `seal` made for the same `context`; KeyRingOpenError when no configured KEK can. */
  open(s: Sealed, context: string): Buffer {
    const dek = this.unwrap(s, context);
    try {
      return gcmOpen(dek, s.ciphertext, secretAad(context));
    } catch (err) {
      throw new KeyRingOpenError(`the secret of ${context} does not open with its data key (the row was altered)`, { cause: err });
    } finally {
      dek.fill(0);
    }
  }

  /** The same secret with its DEK re-wrapped under the current KEK (rotation); the ciphertext is unchanged. */
  rewrap(s: Sealed, context: string): Sealed {
    const dek = this.unwrap(s, context);
    try {
      return { kekId: this.currentId, wrappedDek: gcmSeal(this.#keys.get(this.currentId)!, dek, dekAad(context, this.currentId)), ciphertext: s.ciphertext };
    } finally {
      dek.fill(0);
    }
  }

  private unwrap(s: Sealed, context: string): Buffer {
    const kek = this.#keys.get(s.kekId);
    if (!kek) throw new KeyRingOpenError(`the secret of ${context} is sealed with key id "${s.kekId}", which PEERING_KEY_ENCRYPTION_KEYS does not hold (it holds ${this.ids.map((i) => `"${i}"`).join(", ")})`);
    try {
      return gcmOpen(kek, s.wrappedDek, dekAad(context, s.kekId));
    } catch (err) {
      throw new KeyRingOpenError(`key id "${s.kekId}" of PEERING_KEY_ENCRYPTION_KEYS does not open the secret of ${context}: wrong key for that id`, { cause: err });
    }
  }

  toJSON(): unknown {
    return { keyRing: this.ids };
  }

  [inspect.custom](): string {
    return `KeyRing(${this.ids.join(", ")})`;
  }
}

/**
 * Parses `id:base64,id:base64,…` (each key exactly 32 bytes of standard
 * base64; the first seals). Errors name the entry by position and id, never
 * its key.
 */
export function parseKeyRing(text: string): KeyRing {
  const entries: Array<{ id: string; key: Buffer }> = [];
  const parts = text.split(",");
  for (const [i, part] of parts.entries()) {
    const colon = part.indexOf(":");
    const id = colon < 0 ? "" : part.slice(0, colon);
    const b64 = colon < 0 ? "" : part.slice(colon + 1);
    if (!KEK_ID.test(id)) throw new KeyRingParseError(`entry ${i + 1} must be id:base64key with an id of 1-64 [A-Za-z0-9_.-]`);
    if (entries.some((e) => e.id === id)) throw new KeyRingParseError(`key id "${id}" is listed twice`);
    const key = Buffer.from(b64, "base64");
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || key.length !== KEY_BYTES || key.toString("base64") !== b64) {
      throw new KeyRingParseError(`key "${id}" must be standard base64 of exactly ${KEY_BYTES} bytes (e.g. \`openssl rand -base64 32\`)`);
    }
    entries.push({ id, key });
  }
  return new KeyRing(entries);
}

