/**
 * Scalar equality by meaning where the schema says what a value is:
 * Kubernetes quantities (`1000m` = `1`, `1Gi` = `1024Mi`), int-or-string
 * (`"80"` = `80`, `"25%"` only equals `"25%"`) and durations (`1h30m` =
 * `90m`). Any other scalar, or a value that does not parse, is compared
 * strictly. Pure.
 *
 * The quantity grammar is apimachinery's `resource.Quantity`
 * (k8s.io/apimachinery/pkg/api/resource/quantity.go): a signed decimal number
 * followed by a binary suffix (Ki … Ei), a decimal suffix (n u m "" k M G T P
 * E) or a decimal exponent (e3, E-2). @kubernetes/client-node's
 * `quantityToScalar` is I/O-package code the domain may not import
 * (.dependency-cruiser.cjs) and refuses fractions with a suffix (`1.5Gi`), so
 * the value is computed here, exactly, as a BigInt fraction.
 */
import parseDuration from "parse-duration";
import type { FieldRule } from "./schema.js";

interface Fraction { num: bigint; den: bigint }

const QUANTITY = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?\d+|[numkMGTPE]?)$/;
const BINARY: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const DECIMAL: Record<string, number> = { n: -9, u: -6, m: -3, "": 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };

/** A quantity's exact value, or undefined when it is not a quantity. */
export function quantityValue(v: unknown): Fraction | undefined {
  const text = typeof v === "number" && Number.isFinite(v) ? String(v) : v;
  if (typeof text !== "string") return undefined;
  const m = QUANTITY.exec(text.trim());
  if (!m) return undefined;
  const [, sign, number, suffix] = m as unknown as [string, string, string, string];
  const [whole, frac = ""] = number.split(".");
  let num = BigInt(`${whole || "0"}${frac}`) * (sign === "-" ? -1n : 1n);
  let den = 10n ** BigInt(frac.length);
  const scale = (exp10: number) => {
    if (exp10 >= 0) num *= 10n ** BigInt(exp10);
    else den *= 10n ** BigInt(-exp10);
  };
  if (suffix in BINARY) num *= 2n ** BigInt(BINARY[suffix]!);
  else if (suffix in DECIMAL) scale(DECIMAL[suffix]!);
  else scale(Number(suffix.slice(1)));
  return { num, den };
}

const INTEGER = /^[+-]?\d+$/;

function intOrStringEqual(a: unknown, b: unknown): boolean {
  const asInt = (v: unknown) => (typeof v === "number" && Number.isInteger(v) ? BigInt(v) : typeof v === "string" && INTEGER.test(v) ? BigInt(v) : undefined);
  const x = asInt(a);
  const y = asInt(b);
  return x !== undefined && y !== undefined ? x === y : a === b;
}

function quantityEqual(a: unknown, b: unknown): boolean {
  const x = quantityValue(a);
  const y = quantityValue(b);
  return x && y ? x.num * y.den === y.num * x.den : a === b;
}

function durationEqual(a: unknown, b: unknown): boolean {
  const ms = (v: unknown) => (typeof v === "string" ? parseDuration(v) : null);
  const x = ms(a);
  const y = ms(b);
  return x !== null && y !== null ? x === y : a === b;
}

/** Whether desired scalar `a` and live scalar `b` mean the same under `rule`. */
export function scalarEqual(a: unknown, b: unknown, rule: FieldRule | undefined): boolean {
  if (a === b) return true;
  switch (rule?.scalar) {
    case "quantity":
      return quantityEqual(a, b);
    case "int-or-string":
      return intOrStringEqual(a, b);
    case "duration":
      return durationEqual(a, b);
    default:
      return false;
  }
}
