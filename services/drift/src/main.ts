/** The drift service's only entrypoint. */
import { runService } from "@daalu/runtime";
import { driftService } from "./service.js";

await runService(driftService);
