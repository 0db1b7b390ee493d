/** @daalu/stack — the hub's services started together (devhub, tests, e2e, benches). */
export { startStack, HUB_SERVICES, type HubNode, type HubService, type InProcess, type Namespace, type ServiceEnv, type Stack, type StackOptions } from "./stack.js";
