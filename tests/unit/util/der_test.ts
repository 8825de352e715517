import assert from "node:assert/strict";
import { fc } from "../../_deps.ts";
import {
  children,
  derInteger,
  derOid,
  derSequence,
  derTime,
  parseDer,
  readInteger,
  readOid,
  readTime,
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
