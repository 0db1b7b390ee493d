/**
 * ProxyMuxResponse frames, encoded by hand: the stream sends several per call,
 * and protobuf-es's reflective toBinary (plus the message it needs built
 * first) was a visible share of the edge's CPU per call. The bytes are the
 * ones toBinary writes for the same message (pinned by mux-frames.test.ts).
 * Field numbers: proto/daalu/edge/v1/edge.proto.
 */
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";

export interface Header {
  name: string;
  value: string;
}

/** ProxyMuxResponse.call_id, then the oneof field `field` as an embedded message the caller writes. */
function frame(callId: number, field: number, body: (w: BinaryWriter) => void): Uint8Array {
  const w = new BinaryWriter();
  if (callId !== 0) w.tag(1, WireType.Varint).uint32(callId);
  w.tag(field, WireType.LengthDelimited).fork();
  body(w);
  w.join();
  return w.finish();
}

/** ProxyHead{status = 1, headers = 2 (ProxyHeader{name = 1, value = 2})}, its fields only. */
function head(w: BinaryWriter, status: number, headers: readonly Header[]): void {
  if (status !== 0) w.tag(1, WireType.Varint).uint32(status);
  for (const h of headers) {
    w.tag(2, WireType.LengthDelimited).fork();
    if (h.name !== "") w.tag(1, WireType.LengthDelimited).string(h.name);
    if (h.value !== "") w.tag(2, WireType.LengthDelimited).string(h.value);
    w.join();
  }
}

export const helloFrame = (edgeVersion: string): Uint8Array =>
  frame(0, 2, (w) => {
    if (edgeVersion !== "") w.tag(1, WireType.LengthDelimited).string(edgeVersion);
  });

export const headFrame = (callId: number, status: number, headers: readonly Header[]): Uint8Array => frame(callId, 3, (w) => head(w, status, headers));

export const chunkFrame = (callId: number, data: Uint8Array): Uint8Array =>
  frame(callId, 4, (w) => {
    if (data.length > 0) w.tag(1, WireType.LengthDelimited).bytes(data);
  });

export const endFrame = (callId: number): Uint8Array => frame(callId, 5, () => undefined);

export const errorFrame = (callId: number, code: number, message: string): Uint8Array =>
  frame(callId, 6, (w) => {
    if (code !== 0) w.tag(1, WireType.Varint).uint32(code);
    if (message !== "") w.tag(2, WireType.LengthDelimited).string(message);
  });

/** MuxReply{head = 1, body = 2}: a whole answer in one frame. */
export const replyFrame = (callId: number, status: number, headers: readonly Header[], body: Uint8Array): Uint8Array =>
  frame(callId, 7, (w) => {
    w.tag(1, WireType.LengthDelimited).fork();
    head(w, status, headers);
    w.join();
    if (body.length > 0) w.tag(2, WireType.LengthDelimited).bytes(body);
  });
