/**
 * Test fixture: public keys a WireGuard peer must never be given (see
 * isLowOrderPublicKey): the small-order points of Curve25519 as libsodium
 * blocks them, each also with the (ignored) top bit set.
 */
const LOW_ORDER_HEX = [
  "0000000000000000000000000000000000000000000000000000000000000000", // 0 (order 4)
  "0100000000000000000000000000000000000000000000000000000000000000", // 1 (order 1)
  "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800", // order 8
  "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157", // order 8
  "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // p - 1 (order 2)
  "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // p (= 0)
  "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // p + 1 (= 1)
];

export const LOW_ORDER_KEYS = LOW_ORDER_HEX.flatMap((h) => {
  const b = Buffer.from(h, "hex");
  const high = Buffer.from(b);
  high[31]! |= 0x80;
  return [b.toString("base64"), high.toString("base64")];
});
