import assert from "node:assert/strict";
import { fc } from "../../_deps.ts";
import {
  children,
  derInteger,
  derOid,
  derSequence,
  derTime,
  ecdsaDerToRaw,
  ecdsaRawToDer,
  parseDer,
  readInteger,
  readOid,
  readTime,
  readUnsignedIntegerBytes,
  TAG,
} from "../../../lib/util/der.ts";

Deno.test("readInteger() round-trips non-negative integers through derInteger()", () => {
  fc.assert(fc.property(fc.bigInt({ min: 0n, max: 1n << 600n }), (n) => {
    assert.equal(readInteger(parseDer(derInteger(n))), n);
  }));
});

Deno.test("readOid() round-trips OIDs through derOid()", () => {
  for (const oid of ["1.2.840.10045.2.1", "1.3.6.1.4.1.57264.1.8", "2.5.29.17", "1.3.132.0.35"]) {
    assert.equal(readOid(parseDer(derOid(oid))), oid);
  }
});

Deno.test("readTime() reads what derTime() writes, on both sides of 2050", () => {
  for (const iso of ["2024-02-29T23:59:59.000Z", "2051-01-01T00:00:00.000Z"]) {
    assert.equal(readTime(parseDer(derTime(new Date(iso)))).toISOString(), iso);
  }
});

Deno.test("parseDer() rejects truncation, trailing bytes and indefinite lengths", () => {
  const seq = derSequence(derInteger(5));
  assert.throws(() => parseDer(seq.subarray(0, seq.length - 1)), SyntaxError);
  assert.throws(() => parseDer(Uint8Array.of(...seq, 0)), SyntaxError);
  assert.throws(() => parseDer(Uint8Array.of(0x30, 0x80, 0, 0)), SyntaxError);
  assert.throws(() => parseDer(Uint8Array.of(0x30, 0x84, 0xff, 0xff, 0xff, 0xff)), SyntaxError);
  assert.equal(children(parseDer(seq), TAG.SEQUENCE).length, 1);
});

Deno.test("readOid() bounds the number of arcs", () => {
  const body = new Uint8Array(300).fill(1);
  assert.throws(() => readOid(parseDer(Uint8Array.of(0x06, 0x82, 0x01, 0x2c, ...body))), /arcs/);
});

Deno.test("parseDer() reads DER, not BER: a long-form length that fits the short form or has a leading zero is refused", () => {
  assert.deepEqual(parseDer(Uint8Array.fromHex("0401aa")).value, Uint8Array.fromHex("aa"));
  const long = new Uint8Array(200).fill(7);
  assert.equal(parseDer(derSequence(long)).value.length, 200); // 0x81 0xc8: minimal
  for (const hex of ["048101aa", "04820001aa", "30820082" + "00".repeat(0x82)]) {
    assert.throws(() => parseDer(Uint8Array.fromHex(hex)), /Non-minimal DER length/, hex);
  }
});

Deno.test("readInteger() and readUnsignedIntegerBytes() refuse a redundant leading octet", () => {
  assert.equal(readInteger(parseDer(Uint8Array.fromHex("020100"))), 0n);
  assert.equal(readInteger(parseDer(Uint8Array.fromHex("020200ff"))), 255n);
  assert.equal(readInteger(parseDer(Uint8Array.fromHex("0201ff"))), -1n);
  assert.deepEqual(
    readUnsignedIntegerBytes(parseDer(Uint8Array.fromHex("020200ff"))),
    Uint8Array.of(0xff),
  );
  for (const hex of ["02020001", "0203000080", "0202ff80"]) {
    assert.throws(() => readInteger(parseDer(Uint8Array.fromHex(hex))), /Non-minimal/, hex);
    assert.throws(() => readUnsignedIntegerBytes(parseDer(Uint8Array.fromHex(hex))), SyntaxError);
  }
});

Deno.test("ecdsaDerToRaw() inverts ecdsaRawToDer() (property) and refuses every other encoding", () => {
  fc.assert(fc.property(fc.uint8Array({ minLength: 64, maxLength: 64 }), (raw) => {
    assert.deepEqual(ecdsaDerToRaw(ecdsaRawToDer(raw), 32), raw);
  }));
  const bad = [
    "", // empty
    "3006020101020101ff", // trailing byte
    "300702020001020101", // redundant zero in r
    "30820006020101020101", // BER outer length
    "30070281010102 0101", // BER inner length
    "30060201ff020101", // negative r
    "3106020101020101", // not a SEQUENCE
    "300902010102010102 0101", // three integers
    "30040200020101", // empty integer
  ].map((hex) => hex.replaceAll(" ", ""));
  for (const hex of bad) {
    assert.throws(() => ecdsaDerToRaw(Uint8Array.fromHex(hex), 32), SyntaxError, hex);
  }
  assert.throws(() => ecdsaDerToRaw(new Uint8Array(64).fill(1), 32), SyntaxError); // raw r||s
  assert.throws(() => ecdsaDerToRaw(ecdsaRawToDer(new Uint8Array(70).fill(1)), 32), /wider/);
});
