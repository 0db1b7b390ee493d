/**
 * The dev hub's key-encryption key for peering's sealed hub private key
 * (PEERING_KEY_ENCRYPTION_KEYS): made once into the data directory, readable
 * by its owner only, and reused on every start so the stored key still opens.
 */
import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";

export async function devKeyEncryptionKeys(dataDir: string): Promise<string> {
  const file = path.join(dataDir, "peering-kek");
  try {
    await writeFile(file, `dev1:${randomBytes(32).toString("base64")}\n`, { flag: "wx", mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  }
  return (await readFile(file, "utf8")).trim();
}
