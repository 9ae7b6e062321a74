import { z } from 'zod';
import { ErrorCode, SurgeGuardError } from '../common/errors.ts';

/** The contract a model file carries in its ONNX metadata (`surgeguard.contract`), checked on load. */
export const modelContractSchema = z.object({
  name: z.literal('surgeguard-forecaster'),
  version: z.string().regex(/^1\.\d+\.\d+$/, 'a 1.x.y version this runtime understands'),
  intervalSeconds: z.array(z.number().positive()).min(1),
  inputLength: z.number().int().min(1).max(4096),
  seasonalContext: z.number().int().min(0).max(4096),
  horizon: z.number().int().min(1).max(4096),
  quantiles: z
    .array(z.number().gt(0).lt(1))
    .refine((q) => q.includes(0.5) && q.includes(0.9), 'must include 0.5 and 0.9'),
  normalization: z.string().min(1),
  inputs: z.tuple([z.literal('recent'), z.literal('seasonal'), z.literal('season_available')]),
  output: z.literal('quantiles'),
});

export type ModelContract = z.infer<typeof modelContractSchema>;

/** Metadata key under which the training script stores the contract as JSON. */
export const CONTRACT_KEY = 'surgeguard.contract';

/**
 * Reads `metadata_props` from ONNX bytes (ModelProto field 14). onnxruntime-node does not expose custom
 * metadata, and a full protobuf library would be a dependency for a dozen lines of varint reading.
 */
export function readOnnxMetadata(bytes: Uint8Array): Map<string, string> {
  const props = new Map<string, string>();
  const top = new ProtoReader(bytes);
  while (!top.done()) {
    const { field, wire } = top.tag();
    if (field === 14 && wire === 2) {
      const entry = new ProtoReader(top.bytes());
      let key = '';
      let value = '';
      while (!entry.done()) {
        const t = entry.tag();
        if (t.wire === 2 && t.field === 1) key = entry.text();
        else if (t.wire === 2 && t.field === 2) value = entry.text();
        else entry.skip(t.wire);
      }
      props.set(key, value);
    } else top.skip(wire);
  }
  return props;
}

/** Checks the contract in a model file's bytes; throws SG_MODEL_INVALID saying what is wrong. */
export function checkModelContract(bytes: Uint8Array, file: string): ModelContract {
  let props: Map<string, string>;
  try {
    props = readOnnxMetadata(bytes);
  } catch (cause) {
    throw new SurgeGuardError(ErrorCode.ModelInvalid, `${file}: not a readable ONNX model (${(cause as Error).message})`, { cause, details: { file, reason: 'corrupt' } });
  }
  const raw = props.get(CONTRACT_KEY);
  if (raw === undefined) {
    throw new SurgeGuardError(ErrorCode.ModelInvalid, `${file}: no ${CONTRACT_KEY} metadata; not a SurgeGuard forecaster`, { details: { file, reason: 'contract' } });
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (cause) {
    throw new SurgeGuardError(ErrorCode.ModelInvalid, `${file}: ${CONTRACT_KEY} is not JSON`, { cause, details: { file, reason: 'contract' } });
  }
  const parsed = modelContractSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new SurgeGuardError(ErrorCode.ModelInvalid, `${file}: model contract rejected: ${issues}`, { details: { file, reason: 'contract' } });
  }
  return parsed.data;
}

class ProtoReader {
  private pos = 0;
  private readonly buf: Uint8Array;

  constructor(buf: Uint8Array) {
    this.buf = buf;
  }

  done(): boolean {
    return this.pos >= this.buf.length;
  }

  tag(): { field: number; wire: number } {
    const v = this.varint();
    return { field: Math.floor(v / 8), wire: v % 8 };
  }

  varint(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      const b = this.byte();
      result += (b & 0x7f) * mul;
      if (b < 0x80) return result;
      mul *= 128;
    }
    throw new Error(`bad varint at byte ${this.pos}`);
  }

  bytes(): Uint8Array {
    const n = this.varint();
    if (this.pos + n > this.buf.length) throw new Error(`field of ${n} bytes runs past the end at byte ${this.pos}`);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  text(): string {
    return new TextDecoder('utf-8', { fatal: true }).decode(this.bytes());
  }

  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.advance(8);
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.advance(4);
    else throw new Error(`unsupported wire type ${wire} at byte ${this.pos}`);
  }

  private advance(n: number): void {
    if (this.pos + n > this.buf.length) throw new Error('truncated');
    this.pos += n;
  }

  private byte(): number {
    const b = this.buf[this.pos++];
    if (b === undefined) throw new Error('truncated');
    return b;
  }
}
