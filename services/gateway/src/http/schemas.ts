/**
 * JSON Schemas of request bodies and params: fastify validates with them and
 * the OpenAPI document embeds the same objects, so they cannot drift apart.
 * Every object is closed (`additionalProperties: false`) and every string bounded.
 */

export const idParam = {
  type: "object",
  additionalProperties: false,
  required: ["id"],
  properties: { id: { type: "string", minLength: 1, maxLength: 64, pattern: "^[A-Za-z0-9_-]+$" } },
} as const;

export const createClusterBody = {
  type: "object",
  additionalProperties: false,
  required: ["name"],
  properties: {
    name: { type: "string", minLength: 1, maxLength: 63, description: "DNS label (RFC 1123), unique per tenant" },
    subnet: { type: "string", minLength: 1, maxLength: 43, description: "CIDR for the tenant's tunnel subnet when it has none yet" },
  },
} as const;

export const setSubnetBody = {
  type: "object",
  additionalProperties: false,
  required: ["cidr"],
  properties: { cidr: { type: "string", minLength: 1, maxLength: 43 } },
} as const;

export const listInvitesQuery = {
  type: "object",
  additionalProperties: false,
  properties: { clusterId: { type: "string", minLength: 1, maxLength: 64, pattern: "^[A-Za-z0-9_-]+$" } },
} as const;

export const bootstrapBody = {
  type: "object",
  additionalProperties: false,
  required: ["token", "publicKey"],
  properties: {
    token: { type: "string", minLength: 1, maxLength: 512, description: "the invite token (single use)" },
    publicKey: { type: "string", minLength: 1, maxLength: 64, description: "the edge's WireGuard public key, base64 of 32 bytes" },
  },
} as const;


export const loginBody = {
  type: "object",
  additionalProperties: false,
  required: ["tenant", "username", "password"],
  properties: {
    tenant: { type: "string", minLength: 1, maxLength: 63 },
    username: { type: "string", minLength: 1, maxLength: 128 },
    password: { type: "string", minLength: 1, maxLength: 1024 },
  },
} as const;

export const cliAuthorizeQuery = {
  type: "object",
  additionalProperties: false,
  required: ["redirect_uri", "state", "code_challenge", "code_challenge_method"],
  properties: {
    redirect_uri: { type: "string", minLength: 1, maxLength: 512 },
    state: { type: "string", minLength: 1, maxLength: 512 },
    code_challenge: { type: "string", pattern: "^[A-Za-z0-9_-]{43}$", description: "base64url(sha256(code verifier))" },
    code_challenge_method: { type: "string", enum: ["S256"] },
  },
} as const;

export const cliTokenBody = {
  type: "object",
  additionalProperties: false,
  required: ["code", "codeVerifier"],
  properties: {
    code: { type: "string", minLength: 1, maxLength: 128 },
    codeVerifier: { type: "string", minLength: 43, maxLength: 128 },
  },
} as const;

export const returnToQuery = {
  type: "object",
  additionalProperties: false,
  properties: { returnTo: { type: "string", maxLength: 2048 } },
} as const;
