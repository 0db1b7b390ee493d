import { secretTokenScheme } from "@daalu/runtime/pure";

/**
 * Invite tokens: `dfi1_<selector>_<verifier>`, the runtime's secret-token
 * scheme (fixed lengths, canonical base64url, constant-time compare, a dummy
 * compare for unknown selectors). The stored hash is sha256 of the verifier's
 * 32 decoded bytes — what every invite in the database was issued with.
 */
export const inviteTokens = secretTokenScheme({ prefix: "dfi1_", hashOf: "bytes" });

export const { generate: generateToken, parse: parseToken, verify: verifyToken } = inviteTokens;
