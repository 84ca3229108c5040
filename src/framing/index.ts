/** Picks the frame decoder for a response's declared framing. */
import type { Framing } from '../adapter.ts';
import { createAwsEventStreamDecoder } from './aws-eventstream.ts';
import { createJsonArrayDecoder } from './json-array.ts';
import { createJsonBodyDecoder } from './json-body.ts';
import { createNdjsonDecoder } from './ndjson.ts';
import { createSseDecoder } from './sse.ts';
import type { FrameDecoder, FrameDecoderOptions } from './types.ts';

export type { FrameDecoder, FrameDecoderOptions, FrameHandler } from './types.ts';

const factories: Readonly<Record<Framing, (options: FrameDecoderOptions) => FrameDecoder>> = {
  json: createJsonBodyDecoder,
  sse: createSseDecoder,
  ndjson: createNdjsonDecoder,
  'json-array': createJsonArrayDecoder,
  'aws-eventstream': createAwsEventStreamDecoder,
};

export const createFrameDecoder = (framing: Framing, options: FrameDecoderOptions): FrameDecoder =>
  factories[framing](options);
