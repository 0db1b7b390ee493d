/** The gateway's only entrypoint. */
import { runService } from "@daalu/runtime";
import { gatewayService } from "./service.js";

await runService(gatewayService);
