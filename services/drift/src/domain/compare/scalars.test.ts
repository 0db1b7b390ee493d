import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { quantityValue, scalarEqual } from "./scalars.js";

const Q = { scalar: "quantity" } as const;
const IOS = { scalar: "int-or-string" } as const;
const DUR = { scalar: "duration" } as const;

describe("scalar equality", () => {
  it("quantities are equal by value whatever the suffix or spelling", () => {
    const same: [unknown, unknown][] = [
      ["1000m", "1"], [1, "1000m"], ["1Gi", "1024Mi"], ["1.5Gi", "1536Mi"], ["0.5", "500m"], ["1e3", "1k"],
      ["1M", "1000k"], ["2Ki", "2048"], [".5", "500m"], ["100n", "0.1u"], ["+1", "1"], [0.25, "250m"],
    ];
    for (const [a, b] of same) {
      assert.ok(scalarEqual(a, b, Q), `${String(a)} = ${String(b)}`);
    }
    for (const [a, b] of [["1", "1001m"], ["1Gi", "1G"], ["1Mi", "1M"], ["-1", "1"], ["1x", "1x "]] as [unknown, unknown][]) {
      assert.ok(!scalarEqual(a, b, Q), `${String(a)} ≠ ${String(b)}`);
    }
    assert.equal(quantityValue("bogus"), undefined);
    assert.equal(quantityValue({}), undefined);
    assert.deepEqual(quantityValue("1.5Ki"), { num: 15n * 1024n, den: 10n });
  });

  it("int-or-string: a number and its decimal string are equal, a percentage only equals itself", () => {
    assert.ok(scalarEqual("80", 80, IOS));
    assert.ok(scalarEqual(8080, "8080", IOS));
    assert.ok(scalarEqual("25%", "25%", IOS));
    assert.ok(!scalarEqual("25%", 25, IOS));
    assert.ok(!scalarEqual("http", 80, IOS));
    assert.ok(!scalarEqual("81", 80, IOS));
  });

  it("durations are equal by length, not spelling", () => {
    assert.ok(scalarEqual("1h30m", "90m", DUR));
    assert.ok(scalarEqual("1m0s", "60s", DUR));
    assert.ok(!scalarEqual("1h", "61m", DUR));
  });

  it("without a rule, only the same value is equal", () => {
    assert.ok(!scalarEqual("80", 80, undefined));
    assert.ok(!scalarEqual("1000m", "1", undefined));
    assert.ok(scalarEqual(true, true, undefined));
  });
});
