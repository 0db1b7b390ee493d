/** The tunnel-proxy's only entrypoint. */
import { runService } from "@daalu/runtime";
import { tunnelProxyService } from "./service.js";

await runService(tunnelProxyService);
