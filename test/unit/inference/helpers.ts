import * as ort from 'onnxruntime-node';
import type { DestinationStream } from 'pino';
import { createLogger, type Logger } from '../../../common/logger.ts';
import type { OrtRuntime } from '../../../inference/onnx-forecaster.ts';

/** A JSON logger whose lines a test reads back. */
export function capturingLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const destination: DestinationStream = { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) };
  return { logger: createLogger({ level: 'debug', destination }), lines };
}

/**
 * onnxruntime-node that records the execution providers each session asked for, then runs a real
 * CPU session of the same model. A session that asks for `refuse` fails as a missing native library
 * would, so a test can see the loader's fallback.
 */
export function recordingOrt(asked: string[][], refuse?: string): OrtRuntime {
  return {
    Tensor: ort.Tensor as unknown as OrtRuntime['Tensor'],
    InferenceSession: {
      create: async (model, options) => {
        const providers = (options?.executionProviders ?? []).map(String);
        asked.push(providers);
        if (refuse !== undefined && providers.includes(refuse)) throw new Error(`libonnxruntime_providers_${refuse}.so: cannot open shared object file`);
        return ort.InferenceSession.create(model, { ...options, executionProviders: ['cpu'] });
      },
    },
  };
}

/** Protobuf wire format, enough to write ONNX files whose metadata a test chooses. */
export const proto = {
  varint(n: number): number[] {
    const out: number[] = [];
    let v = n;
    while (v >= 0x80) {
      out.push((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    out.push(v);
    return out;
  },
  tag(field: number, wire: number): number[] {
    return proto.varint(field * 8 + wire);
  },
  /** A length-delimited field (wire type 2). */
  field(field: number, bytes: readonly number[]): number[] {
    return [...proto.tag(field, 2), ...proto.varint(bytes.length), ...bytes];
  },
  text(s: string): number[] {
    return [...Buffer.from(s, 'utf8')];
  },
  /** One ModelProto.metadata_props entry (field 14: key 1, value 2). */
  metadata(key: string, value: string): number[] {
    return proto.field(14, [...proto.field(1, proto.text(key)), ...proto.field(2, proto.text(value))]);
  },
};
