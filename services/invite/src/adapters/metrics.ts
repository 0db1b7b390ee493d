/** The invite service's Prometheus metrics. */
import { counter, DaaluError } from "@daalu/runtime";

const redemptions = counter({
  name: "daalu_invite_redemptions_total",
  help: "Invite redemptions (POST /v1/bootstrap) by result: ok, or the refusal's stable reason (TOKEN_EXPIRED, TOKEN_ALREADY_USED, ...)",
  labelNames: ["result"],
});
const ok = redemptions.labels("ok");

/** Runs one redemption and counts its result (the reasons are a fixed set, so the label stays small). */
export async function countRedemption<T>(redeem: () => Promise<T>): Promise<T> {
  try {
    const r = await redeem();
    ok.inc();
    return r;
  } catch (err) {
    redemptions.labels(DaaluError.from(err).reason).inc();
    throw err;
  }
}
