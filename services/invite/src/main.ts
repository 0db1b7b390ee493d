/** The invite service's only entrypoint. */
import { runService } from "@daalu/runtime";
import { inviteService } from "./service.js";

await runService(inviteService);
