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

