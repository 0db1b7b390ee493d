/**
 * The hub's WireGuard key pair in `peering.hub_identity`, its private key
 * sealed with envelope encryption (keyring.ts): never stored in plain text,
 * never logged. At start a row from before encryption is sealed, and a row
 * sealed under an older key-encryption key is re-wrapped under the current one.
 */
import { sql, storeError, type Logger } from "@daalu/runtime";
import { generateKeyPair, publicKeyOf } from "@daalu/wireguard";
import type { Kysely } from "kysely";
import { HubKeyUnreadableError } from "../../errors.js";
import { KeyRingOpenError, type KeyRing, type Sealed } from "../../keyring.js";
import type { PeeringDb } from "./schema.js";

/** The row's id is always 1; the sealed key is bound to it. */
const ROW_ID = 1;
const CONTEXT = `peering.hub_identity/${ROW_ID}`;

export interface HubIdentity {
  privateKey: string;
  publicKey: string;
}

export interface HubIdentityOptions {
  /** A hub private key from a file; when set, the database key is not used (but a stored one is still sealed). */
  fileKey?: string | undefined;
  /** Seals and opens the stored key; required unless `fileKey` is set. */
  keyRing?: KeyRing | undefined;
  logger?: Logger | undefined;
}

interface Row {
  private_key: string | null;
  public_key: string;
  kek_id: string | null;
  wrapped_dek: Buffer | null;
  private_key_sealed: Buffer | null;
}

export class HubIdentityStore {
  private cached: HubIdentity | undefined;

  constructor(
    private readonly db: Kysely<PeeringDb>,
    private readonly opts: HubIdentityOptions,
  ) {}

  /**
   * The hub's key pair: from the file, else the one in the database, created
   * on first use. `on conflict do nothing` makes replicas starting together
   * agree on a single pair; their sealing and re-wrapping updates are
   * compare-and-set, so they agree on those too.
   */
  async get(): Promise<HubIdentity> {
    if (this.cached) return this.cached;
    const { fileKey, keyRing } = this.opts;
    let stored: string | undefined;
    if (keyRing) stored = await this.fromDatabase(keyRing, fileKey === undefined);
    else if (fileKey === undefined) throw new HubKeyUnreadableError("PEERING_KEY_ENCRYPTION_KEYS is required to store the hub's private key encrypted");
    const privateKey = fileKey ?? stored!;
    this.cached = { privateKey, publicKey: publicKeyOf(privateKey) };
    return this.cached;
  }

  /** The private key (for the WireGuard node). Never log it. */
  async privateKey(): Promise<string> {
    return (await this.get()).privateKey;
  }

  /** `use`: the stored key is the hub's (no key file); else a stored row is only sealed if it is still plain text. */
  private async fromDatabase(ring: KeyRing, use: boolean): Promise<string | undefined> {
    try {
      if (use) {
        const kp = generateKeyPair();
        const s = ring.seal(Buffer.from(kp.privateKey, "base64"), CONTEXT);
        await sql`
          insert into hub_identity (id, private_key, public_key, kek_id, wrapped_dek, private_key_sealed)
          values (${ROW_ID}, null, ${kp.publicKey}, ${s.kekId}, ${s.wrappedDek}, ${s.ciphertext})
          on conflict (id) do nothing`.execute(this.db);
      }
      const row = (
        await sql<Row>`select private_key, public_key, kek_id, wrapped_dek, private_key_sealed from hub_identity where id = ${ROW_ID}`.execute(this.db)
      ).rows[0];
      if (!row || (!use && row.private_key === null)) return undefined;
      const key = row.private_key !== null ? await this.seal(ring, row.private_key) : await this.open(ring, row);
      if (publicKeyOf(key) !== row.public_key) throw new HubKeyUnreadableError("the stored hub private key does not match the stored public key");
      return key;
    } catch (err) {
      if (err instanceof KeyRingOpenError) throw new HubKeyUnreadableError(err.message, err);
      throw storeError(err);
    }
  }

  /** A row from before encryption: seal it in place (the plaintext column is cleared in the same statement). */
  private async seal(ring: KeyRing, plaintext: string): Promise<string> {
    const s = ring.seal(Buffer.from(plaintext, "base64"), CONTEXT);
    const r = await sql`
      update hub_identity set private_key = null, kek_id = ${s.kekId}, wrapped_dek = ${s.wrappedDek}, private_key_sealed = ${s.ciphertext}
      where id = ${ROW_ID} and private_key is not null`.execute(this.db);
    if (Number(r.numAffectedRows ?? 0) > 0) this.opts.logger?.info({ kekId: s.kekId }, "hub private key encrypted at rest");
    return plaintext;
  }

  /** Opens a sealed row; re-wraps its data key when it was sealed under an older KEK. */
  private async open(ring: KeyRing, row: Row): Promise<string> {
    const sealed: Sealed = { kekId: row.kek_id!, wrappedDek: row.wrapped_dek!, ciphertext: row.private_key_sealed! };
    const key = ring.open(sealed, CONTEXT).toString("base64");
    if (sealed.kekId !== ring.currentId) {
      const s = ring.rewrap(sealed, CONTEXT);
      const r = await sql`
        update hub_identity set kek_id = ${s.kekId}, wrapped_dek = ${s.wrappedDek}
        where id = ${ROW_ID} and kek_id = ${sealed.kekId}`.execute(this.db);
      if (Number(r.numAffectedRows ?? 0) > 0) this.opts.logger?.info({ from: sealed.kekId, to: s.kekId }, "hub private key re-wrapped under the current key-encryption key");
    }
    return key;
  }
}
