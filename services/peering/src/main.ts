/** The peering service's only entrypoint. */
import { runService } from "@daalu/runtime";
import { peeringService } from "./service.js";

await runService(peeringService);
