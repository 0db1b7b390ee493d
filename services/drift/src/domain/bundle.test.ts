import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { SECRET_HASH, parseBundle, secretValueHash, type BundleProblem } from "./bundle.js";

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  replicas: 2
`;
const SERVICE = `apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
spec:
  ports: [{ port: 80 }]
`;

function problems(text: string, limits?: Parameters<typeof parseBundle>[1]): BundleProblem[] {
  const r = parseBundle(text, limits);
  assert.equal(r.ok, false, "refused");
  return r.ok ? [] : r.problems;
}

describe("desired-state bundle", () => {
  it("accepts multi-document YAML, skipping empty documents, and keeps each object's identity and position", () => {
    const r = parseBundle(`---\n${DEPLOYMENT}---\n${SERVICE}---\n`);
    assert.ok(r.ok);
    assert.deepEqual(
      r.objects.map((o) => [o.apiVersion, o.kind, o.namespace, o.name, o.document, o.line]),
      [
        ["apps/v1", "Deployment", "shop", "web", 1, 2],
        ["v1", "Service", "shop", "web", 2, 10],
      ],
    );
    assert.deepEqual(r.objects[0]!.manifest["spec"], { replicas: 2 });
  });

  it("reports every problem at once, each naming its document and line", () => {
    const text = `${DEPLOYMENT}---\nkind: ConfigMap\nmetadata:\n  name: cfg\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: Not_A_Name\n---\n- just\n- a list\n`;
    assert.deepEqual(problems(text), [
      { document: 2, line: 9, message: "apiVersion is missing" },
      { document: 3, line: 16, message: 'metadata.name "Not_A_Name" is not a valid Kubernetes name (lower case, digits, \'-\' and \'.\')' },
      { document: 4, line: 18, message: "not a Kubernetes object (a YAML mapping with apiVersion, kind and metadata)" },
    ]);
  });

  it("names the line of a YAML syntax error and of a duplicate key", () => {
    const bad = problems(`${DEPLOYMENT}---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  name: b\n`);
    assert.equal(bad.length, 1);
    assert.equal(bad[0]!.document, 2);
    assert.equal(bad[0]!.line, 13);
    assert.match(bad[0]!.message, /^not valid YAML: Map keys must be unique/);
    const syntax = problems("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x\n");
    assert.equal(syntax[0]!.document, 1);
    assert.match(syntax[0]!.message, /^not valid YAML/);
    assert.ok(syntax[0]!.line >= 3, JSON.stringify(syntax));
  });

  it("refuses an object twice, a List, a missing kind or name, a bad apiVersion or namespace", () => {
    assert.deepEqual(problems(`${DEPLOYMENT}---\n${DEPLOYMENT}`), [{ document: 2, line: 9, message: "Deployment shop/web is already in document 1" }]);
    assert.match(problems("apiVersion: v1\nkind: List\nmetadata:\n  name: x\nitems: []\n")[0]!.message, /^kind List: upload the items as separate documents/);
    assert.deepEqual(
      problems("apiVersion: apps/v1\nmetadata:\n  generateName: x-\n").map((p) => p.message),
      ["kind is missing", "metadata.name is missing (generateName is not enough: drift needs a name to find the object)"],
    );
    assert.match(problems("apiVersion: Apps/V1\nkind: Deployment\nmetadata:\n  name: x\n")[0]!.message, /apiVersion "Apps\/V1" is not/);
    assert.deepEqual(problems("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: Bad_NS\n")[0], { document: 1, line: 5, message: 'metadata.namespace "Bad_NS" is not a valid namespace name' });
    // The same name in another kind or namespace is another object.
    assert.ok(parseBundle(`${DEPLOYMENT}---\n${SERVICE}---\n${DEPLOYMENT.replace("namespace: shop", "namespace: lab")}`).ok);
  });

  it("enforces the size limits and refuses an empty bundle", () => {
    assert.deepEqual(problems(DEPLOYMENT, { maxBytes: 10, maxDocuments: 10 }), [{ document: 0, line: 0, message: `the bundle is ${Buffer.byteLength(DEPLOYMENT)} bytes; at most 10 are accepted` }]);
    const three = [1, 2, 3].map((i) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c${i}\n`).join("---\n");
    assert.deepEqual(problems(three, { maxBytes: 1_000_000, maxDocuments: 2 }), [{ document: 3, line: 11, message: "more than 2 documents" }]);
    assert.deepEqual(problems("---\n\n---\n"), [{ document: 0, line: 0, message: "the bundle holds no Kubernetes object" }]);
  });

  it("never keeps a Secret's values: data and stringData become sha256 hashes of the value's bytes", () => {
    const r = parseBundle("apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: shop\ndata:\n  password: aHVudGVyMg==\nstringData:\n  user: admin\n  again: hunter2\n");
    assert.ok(r.ok);
    const m = r.objects[0]!.manifest;
    const hash = (s: string) => `sha256:${createHash("sha256").update(s).digest("hex")}`;
    // data is base64 and hashed decoded, so "hunter2" hashes alike in data and stringData.
    assert.deepEqual(m["data"], { password: hash("hunter2") });
    assert.deepEqual(m["stringData"], { user: hash("admin"), again: hash("hunter2") });
    assert.equal(secretValueHash("data", "aHVudGVyMg=="), secretValueHash("stringData", "hunter2"));
    assert.match(secretValueHash("data", 42), SECRET_HASH);
    assert.doesNotMatch(JSON.stringify(r), /aHVudGVyMg==|"admin"/);
  });
});
