import type { DestinationStream } from 'pino';
import { createLogger, type Logger } from '../../../common/logger.ts';

/** A JSON logger whose lines a test reads back. */
export function capturingLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const destination: DestinationStream = { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) };
  return { logger: createLogger({ level: 'debug', destination }), lines };
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
