const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * True when `s` is a UUID in its textual form (any version, either case):
 * the one check for ids the services make with randomUUID() or PostgreSQL's
 * gen_random_uuid(). Callers that store or compare ids lower-case them.
 */
export function isUuid(s: string): boolean {
  return UUID.test(s);
}
