import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { SurgeGuardError } from '../../../common/errors.ts';
import { CONTRACT_KEY, checkModelContract, readOnnxMetadata } from '../../../inference/model-contract.ts';
import { defaultModelPath } from '../../../inference/load.ts';
import { proto } from './helpers.ts';

// The model contract read from ONNX metadata, on files written here byte by byte: every wire type
// the reader skips, the framing errors it must name, and what the schema accepts.

const shipped = checkModelContract(readFileSync(defaultModelPath()), 'shipped');
const bytesOf = (...parts: number[][]): Uint8Array => Uint8Array.from(parts.flat());
const withContract = (contract: unknown): Uint8Array => bytesOf(proto.metadata(CONTRACT_KEY, typeof contract === 'string' ? contract : JSON.stringify(contract)));

function rejected(bytes: Uint8Array): SurgeGuardError {
  try {
    checkModelContract(bytes, 'm.onnx');
  } catch (err) {
    assert.ok(err instanceof SurgeGuardError, String(err));
    assert.equal(err.code, 'SG_MODEL_INVALID');
    return err;
  }
  assert.fail('the contract was accepted');
}

test('metadata is read from among fields of every wire type, key and value in either order', () => {
  const bytes = bytesOf(
    [...proto.tag(1, 0), ...proto.varint(300)], // ir_version, a varint of two bytes
    [...proto.tag(20, 1), 1, 2, 3, 4, 5, 6, 7, 8], // a fixed64
    [...proto.tag(21, 5), 1, 2, 3, 4], // a fixed32
    proto.field(7, [...proto.field(1, proto.text('graph'))]), // the graph: length-delimited
    proto.metadata('a', 'one'),
    // value before key, and a field the entry does not know (a varint) between them
    proto.field(14, [...proto.field(2, proto.text('two')), ...proto.tag(3, 0), ...proto.varint(7), ...proto.field(1, proto.text('b'))]),
    // a value of exactly 128 bytes: its length is the varint 0x80 0x01
    proto.metadata('c', 'x'.repeat(128)),
    // a fixed64 that ends exactly at the end of the file
    [...proto.tag(22, 1), 0, 0, 0, 0, 0, 0, 0, 0],
  );
  assert.deepEqual(readOnnxMetadata(bytes), new Map([['a', 'one'], ['b', 'two'], ['c', 'x'.repeat(128)]]));
  // The same key and value under another field number are not metadata.
  assert.deepEqual(readOnnxMetadata(bytesOf(proto.field(15, [...proto.field(1, proto.text('k')), ...proto.field(2, proto.text('v'))]))), new Map());
});

test('framing errors are "corrupt", each saying what is wrong and where', () => {
  const cases: { bytes: Uint8Array; message: RegExp }[] = [
    { bytes: bytesOf(proto.tag(20, 1), [1, 2, 3]), message: /\(truncated\)$/ },
    { bytes: bytesOf(proto.tag(21, 5), [1, 2, 3]), message: /\(truncated\)$/ },
    { bytes: bytesOf(proto.tag(1, 0), [0x80]), message: /\(truncated\)$/ },
    { bytes: bytesOf(proto.tag(1, 0), new Array<number>(10).fill(0xff), [1]), message: /\(bad varint at byte 11\)$/ },
    { bytes: bytesOf(proto.tag(7, 2), proto.varint(50), [1, 2]), message: /\(field of 50 bytes runs past the end at byte 2\)$/ },
    { bytes: bytesOf(proto.tag(9, 3)), message: /\(unsupported wire type 3 at byte 1\)$/ },
    { bytes: bytesOf(proto.tag(9, 6)), message: /\(unsupported wire type 6 at byte 1\)$/ },
    // A key that is not UTF-8 (a lone continuation byte).
    { bytes: bytesOf(proto.field(14, proto.field(1, [0x80]))), message: /\(The encoded data was not valid for encoding utf-8\)$/ },
  ];
  for (const c of cases) {
    const e = rejected(c.bytes);
    assert.match(e.message, /^m\.onnx: not a readable ONNX model \(/);
    assert.match(e.message, c.message);
    assert.equal(e.details.reason, 'corrupt');
  }
  // The longest valid varint, ten bytes, is read.
  assert.deepEqual(readOnnxMetadata(bytesOf(proto.tag(1, 0), new Array<number>(9).fill(0xff), [1])), new Map());
});

test('the contract: missing, not JSON, and what the schema refuses are "contract", naming the field', () => {
  const missing = rejected(bytesOf(proto.metadata('other', '{}')));
  assert.equal(missing.message, `m.onnx: no ${CONTRACT_KEY} metadata; not a SurgeGuard forecaster`);
  assert.equal(missing.details.reason, 'contract');
  const notJson = rejected(withContract('{"name":'));
  assert.equal(notJson.message, `m.onnx: ${CONTRACT_KEY} is not JSON`);
  assert.equal(notJson.details.reason, 'contract');
  const root = rejected(withContract('7'));
  assert.match(root.message, /^m\.onnx: model contract rejected: \(root\): /);
  const noMedian = rejected(withContract({ ...shipped, quantiles: [0.1, 0.9] }));
  assert.equal(noMedian.message, 'm.onnx: model contract rejected: quantiles: must include 0.5 and 0.9');
  assert.equal(noMedian.details.reason, 'contract');
});

test('versions: any 1.x.y is understood, nothing else', () => {
  for (const version of ['1.0.0', '1.12.345']) assert.equal(checkModelContract(withContract({ ...shipped, version }), 'm.onnx').version, version);
  for (const version of ['2.0.0', 'v1.0.0', '1.0.0-rc1', '1.0', '11.0.0']) {
    assert.equal(rejected(withContract({ ...shipped, version })).message, 'm.onnx: model contract rejected: version: a 1.x.y version this runtime understands', version);
  }
});
