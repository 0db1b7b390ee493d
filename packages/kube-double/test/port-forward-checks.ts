/** The real kubectl port-forward against a pod whose port 80 the double sends to the test's HTTP server. */
import assert from "node:assert/strict";
import { eventually } from "@daalu/testing";
import type { KubeDouble } from "../src/index.js";
import type { Kubectl } from "./kubectl.js";
import { blob, get, httpTarget, listenOn } from "./http-target.js";

/**
 * `kubectl port-forward pod/POD :80` (whichever protocol `k`'s environment picks) to an HTTP server the double sends
 * the pod's port 80 to: 100 parallel requests each get their own answer and a 64 MiB download is byte-exact.
 * Returns the download's milliseconds.
 */
export async function assertKubectlPortForward(k: Kubectl, double: KubeDouble, pod: string): Promise<number> {
  const data = blob();
  const app = httpTarget(data);
  double.setPortTarget("default", pod, 80, `127.0.0.1:${await listenOn(app)}`);
  const pf = k.start(["port-forward", `pod/${pod}`, ":80"]);
  try {
    const port = await eventually(() => {
      const m = /Forwarding from 127\.0\.0\.1:(\d+) -> 80/.exec(pf.out());
      assert.ok(m, `${pf.out()}${pf.err()}`);
      return Number(m[1]);
    });
    const answers = await Promise.all(Array.from({ length: 100 }, (_, i) => get(port, `/r${i}`)));
    answers.forEach((a, i) => assert.deepEqual([a.status, a.body.toString()], [200, `hello /r${i}`]));
    const t0 = Date.now();
    const big = await get(port, "/blob");
    const ms = Date.now() - t0;
    assert.equal(big.status, 200);
    assert.ok(big.body.equals(data), `64 MiB byte-exact (got ${big.body.length} bytes)`);
    return ms;
  } finally {
    await pf.stop();
    app.close();
  }
}
