/**
 * Request bodies in Kubernetes' protobuf encoding
 * (`application/vnd.kubernetes.protobuf`): what client-go's typed clients send
 * for built-in kinds, e.g. kubectl's `auth can-i` and `auth whoami`. The
 * envelope is the 4-byte magic `k8s\0` and a runtime.Unknown whose `raw` field
 * holds the object's message; each kind's message is read into the JSON shape
 * the handlers take, for the fields the double needs (field numbers from
 * k8s.io/api's generated.proto). Wire decoding is @bufbuild/protobuf's.
 */
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import { badRequest } from "./status.js";

export const PROTOBUF_CONTENT_TYPE = "application/vnd.kubernetes.protobuf";

/** Field number → name, with a nested shape for message fields; unnamed fields are skipped. */
interface Shape { [field: number]: string | [string, Shape] }

const RESOURCE_ATTRIBUTES: Shape = { 1: "namespace", 2: "verb", 3: "group", 4: "version", 5: "resource", 6: "subresource", 7: "name" };
const NON_RESOURCE_ATTRIBUTES: Shape = { 1: "path", 2: "verb" };
const OBJECT_META: Shape = { 1: "name", 3: "namespace" };

/** The kinds whose protobuf bodies the double reads, by kind. */
const SHAPES: Readonly<Record<string, Shape>> = {
  SelfSubjectAccessReview: { 1: ["metadata", OBJECT_META], 2: ["spec", { 1: ["resourceAttributes", RESOURCE_ATTRIBUTES], 2: ["nonResourceAttributes", NON_RESOURCE_ATTRIBUTES] }] },
  SelfSubjectRulesReview: { 1: ["metadata", OBJECT_META], 2: ["spec", { 1: "namespace" }] },
  SelfSubjectReview: { 1: ["metadata", OBJECT_META] },
};

function read(bytes: Uint8Array, shape: Shape): Record<string, unknown> {
  const r = new BinaryReader(bytes);
  const out: Record<string, unknown> = {};
  while (r.pos < r.len) {
    const [no, wt] = r.tag();
    const f = shape[no];
    if (f === undefined || wt !== WireType.LengthDelimited) {
      r.skip(wt, no);
      continue;
    }
    if (typeof f === "string") out[f] = r.string();
    else out[f[0]] = read(r.bytes(), f[1]);
  }
  return out;
}

/** Decodes a protobuf request body of one of the kinds above into its JSON form. */
export function decodeProtobuf(body: Buffer): unknown {
  const magic = body.subarray(0, 4).toString("latin1");
  if (magic !== "k8s\0") throw badRequest("the server rejected our request due to an error in our request: provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]");
  const unknown = read(body.subarray(4), { 1: ["typeMeta", { 1: "apiVersion", 2: "kind" }] });
  // `raw` is bytes, not a string: read it apart.
  const r = new BinaryReader(body.subarray(4));
  let raw: Uint8Array = new Uint8Array();
  while (r.pos < r.len) {
    const [no, wt] = r.tag();
    if (no === 2 && wt === WireType.LengthDelimited) raw = r.bytes();
    else r.skip(wt, no);
  }
  const typeMeta = (unknown["typeMeta"] ?? {}) as { apiVersion?: string; kind?: string };
  const shape = SHAPES[typeMeta.kind ?? ""];
  if (!shape) throw badRequest(`the server rejected our request due to an error in our request: kube-double reads no protobuf ${typeMeta.kind ?? "object"}`);
  return { apiVersion: typeMeta.apiVersion, kind: typeMeta.kind, ...read(raw, shape) };
}
