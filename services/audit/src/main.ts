/** The audit service's only entrypoint. */
import { runService } from "@daalu/runtime";
import { auditService } from "./service.js";

await runService(auditService);
