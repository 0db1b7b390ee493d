/** The exec channel protocols frame by frame, with a bare WebSocket client: what kubectl does not show. */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import https from "node:https";
import WebSocket from "ws";
import { startKubeDouble, type KubeDouble } from "../src/index.js";

const POD = "nginx";

interface Frames {
  frames: Buffer[] | string[];
  protocol: string;
}

describe("exec channel protocols", () => {
  let double: KubeDouble;
  before(async () => {
    double = await startKubeDouble();
  });
  after(async () => {
    await double.close();
  });

  function exec(query: string, protocols: string[], send?: (ws: WebSocket) => void): Promise<Frames> {
    const ws = new WebSocket(`${double.url.replace(/^http/, "ws")}/api/v1/namespaces/default/pods/${POD}/exec?${query}`, protocols, { ca: double.ca, headers: { Authorization: "Bearer admin-token" } });
    const frames: (Buffer | string)[] = [];
    ws.on("message", (m: Buffer, binary: boolean) => frames.push(binary ? m : m.toString()));
    if (send) ws.on("open", () => send(ws));
    return new Promise((resolve, reject) => {
      ws.on("close", () => resolve({ frames: frames as Buffer[] | string[], protocol: ws.protocol }));
      ws.on("error", reject);
    });
  }

  test("v4: an empty ready frame on stdout, the output, then the kubelet's NonZeroExitCode Status on channel 3", async () => {
    const r = await exec("command=sh&command=-c&command=echo%20hi%3B%20exit%203&stdout=true&stderr=true", ["v4.channel.k8s.io"]);
    assert.equal(r.protocol, "v4.channel.k8s.io");
    const frames = r.frames as Buffer[];
    assert.deepEqual(frames.slice(0, 2).map((f) => [f[0], f.subarray(1).toString()]), [[1, ""], [1, "hi\n"]]);
    assert.equal(frames[2]![0], 3);
    assert.deepEqual(JSON.parse(frames[2]!.subarray(1).toString()), {
      metadata: {}, status: "Failure", reason: "NonZeroExitCode",
      message: "command terminated with non-zero exit code: error executing command [sh -c echo hi; exit 3], exit code 3",
      details: { causes: [{ reason: "ExitCode", message: "3" }] },
    });
  });

  test("v5: stdin ends with the close signal (255, 0) and the Status says Success", async () => {
    const r = await exec("command=cat&stdin=true&stdout=true", ["v5.channel.k8s.io", "v4.channel.k8s.io"], (ws) => {
      ws.send(Buffer.from([0, ...Buffer.from("abc")]));
      ws.send(Buffer.from([255, 0]));
    });
    assert.equal(r.protocol, "v5.channel.k8s.io");
    assert.deepEqual((r.frames as Buffer[]).map((f) => [f[0], f.subarray(1).toString()]), [[1, ""], [1, "abc"], [3, '{"metadata":{},"status":"Success"}']]);
  });

  test("base64.channel.k8s.io: text frames, the channel as a digit, base64 data", async () => {
    const r = await exec("command=echo&command=hi&stdout=true", ["base64.channel.k8s.io"]);
    assert.equal(r.protocol, "base64.channel.k8s.io");
    assert.deepEqual(r.frames, ["1", `1${Buffer.from("hi\n").toString("base64")}`]);
  });

  /** The refused handshake: its status and Status message. */
  function refusal(path: string, protocols: string[]): Promise<{ code: number; message: string }> {
    const ws = new WebSocket(`${double.url.replace(/^http/, "ws")}/api/v1/namespaces/default/pods/${path}`, protocols, { ca: double.ca, headers: { Authorization: "Bearer admin-token" } });
    return new Promise((resolve, reject) => {
      ws.on("open", () => reject(new Error("upgraded")));
      ws.on("error", () => {});
      ws.on("unexpected-response", (_req, res) => {
        let body = "";
        res.on("data", (d: Buffer) => (body += d.toString()));
        res.on("end", () => resolve({ code: res.statusCode ?? 0, message: (JSON.parse(body) as { message: string }).message }));
      });
    });
  }

  test("refusals are Status objects: unknown container, no command, unserved subprotocol, unknown pod, no upgrade", async () => {
    const v4 = ["v4.channel.k8s.io"];
    assert.deepEqual(await refusal(`${POD}/exec?command=true&container=nope`, v4), { code: 400, message: `container nope is not valid for pod ${POD}` });
    assert.deepEqual(await refusal(`${POD}/exec?stdout=true`, v4), { code: 400, message: "you must specify at least 1 command" });
    assert.deepEqual(await refusal(`${POD}/exec?command=true`, ["v9.channel.k8s.io"]), { code: 400, message: "none of the requested subprotocols (v9.channel.k8s.io) is supported" });
    assert.deepEqual(await refusal("ghost/attach?stdout=true", v4), { code: 404, message: 'pods "ghost" not found' });
    double.store.put({ apiVersion: "v1", kind: "Pod", metadata: { name: "done", namespace: "default" }, spec: { containers: [{ name: "main", image: "busybox" }] }, status: { phase: "Succeeded" } });
    assert.deepEqual(await refusal("done/exec?command=true", v4), { code: 400, message: "cannot exec into a container in a completed pod; current phase is Succeeded" });
    const status = await new Promise<{ code: number; body: string }>((resolve, reject) => {
      https.get(`${double.url}/api/v1/namespaces/default/pods/${POD}/exec?command=true`, { ca: double.ca, headers: { Authorization: "Bearer admin-token" } }, (res) => {
        let body = "";
        res.on("data", (d: Buffer) => (body += d.toString()));
        res.on("end", () => resolve({ code: res.statusCode ?? 0, body }));
      }).on("error", reject);
    });
    assert.deepEqual([status.code, JSON.parse(status.body).message], [400, "Upgrade request required"]);
  });
});
