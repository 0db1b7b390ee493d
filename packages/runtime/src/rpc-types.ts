import type { DescMessage, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import type { CallContext, CallOptions } from "./context.js";

/** A generated service descriptor (protoc-gen-es v2). */
export type AnyService = GenService<GenServiceMethods>;

type UnaryOf<M> = M extends { methodKind: "unary"; input: infer I extends DescMessage; output: infer O extends DescMessage } ? [I, O] : never;

/** What a service implements: one async function per unary method. */
export type ServiceImpl<S extends GenServiceMethods> = {
  [K in keyof S]: UnaryOf<S[K]> extends [infer I extends DescMessage, infer O extends DescMessage]
    ? (req: MessageShape<I>, ctx: CallContext) => Promise<MessageInitShape<O>>
    : never;
};

/** What a client offers: one async function per unary method. */
export type ServiceClient<S extends GenServiceMethods> = {
  [K in keyof S]: UnaryOf<S[K]> extends [infer I extends DescMessage, infer O extends DescMessage]
    ? (req: MessageInitShape<I>, opts?: CallOptions) => Promise<MessageShape<O>>
    : never;
};

export type MethodsOf<S> = S extends GenService<infer M> ? M : never;

/** One-way sends: the request of each unary method, with no reply awaited. */
export type ServiceSender<S extends GenServiceMethods> = {
  [K in keyof S]: UnaryOf<S[K]> extends [infer I extends DescMessage, DescMessage] ? (req: MessageInitShape<I>, opts?: CallOptions) => void : never;
};
