/**
 * Synthesised exchanges for adapter edge cases (every body built here is synthesised from the documented
 * wire formats, not recorded): a fixture-shaped object replayed through the real capture tap, plus one
 * small valid stream per streaming API, expressed as units that tests can interleave with noise.
 */

import { adapterById } from '../../providers/index.ts';
import type { ProviderAdapter } from '../../src/adapter.ts';
import type { LlmCall } from '../../src/record.ts';
import { type Chunking, type ReplayResult, replayFixture } from '../capture/drive-tap.ts';
import { encodeEventStreamMessage } from '../framing/helpers.ts';
import type { RecordedFixture } from '../helpers/recorded.ts';

export interface Exchange {
  readonly adapter: string;
  readonly path: string;
  readonly host?: string;
  readonly requestBody?: unknown;
  readonly status?: number;
  readonly contentType?: string;
  readonly responseHeaders?: Readonly<Record<string, string>>;
  readonly body: string | Uint8Array;
}

export const adapter = (id: string): ProviderAdapter => {
  const found = adapterById(id);
  if (found === undefined) throw new Error(`unknown adapter ${id}`);
  return found;
};

export const asFixture = (exchange: Exchange): RecordedFixture => {
  const binary = typeof exchange.body !== 'string';
  const headers: Record<string, string> = { ...exchange.responseHeaders };
  if (exchange.contentType !== undefined) headers['content-type'] = exchange.contentType;
  return {
    file: `synthesised/${exchange.adapter}${exchange.path}`,
    provider: exchange.adapter,
    name: 'synthesised',
    request: {
      method: 'POST',
      path: exchange.path,
      host: exchange.host ?? 'upstream.example',
      headers: { 'content-type': 'application/json' },
      body:
        exchange.requestBody === undefined
          ? null
          : typeof exchange.requestBody === 'string'
            ? exchange.requestBody
            : JSON.stringify(exchange.requestBody),
    },
    response: {
      status: exchange.status ?? 200,
      headers,
      format: 'synthesised',
      body_encoding: binary ? 'base64' : 'utf8',
      body: typeof exchange.body === 'string' ? exchange.body : Buffer.from(exchange.body).toString('base64'),
    },
    expected: {},
  };
};

/** Replays through the capture tap; fails the test if the tap reported any pipeline error. */
export const replay = async (
  exchange: Exchange,
  chunking: Chunking = 'whole',
  options: { captureContent?: boolean; cutAfter?: number; maxCapturedChars?: number } = {},
): Promise<LlmCall> => {
  const result: ReplayResult = await replayFixture(asFixture(exchange), adapter(exchange.adapter), chunking, {
    ...(options.captureContent === undefined ? {} : { captureContent: options.captureContent }),
    ...(options.cutAfter === undefined ? {} : { cutAfter: options.cutAfter }),
    ...(options.maxCapturedChars === undefined
      ? {}
      : { limits: { maxCapturedChars: options.maxCapturedChars } }),
  });
  if (result.errors.length > 0) {
    throw new Error(`capture tap errors: ${result.errors.map((entry) => String(entry.error)).join('; ')}`);
  }
  return result.call;
};

export const sse = (data: unknown, event?: string): string =>
  `${event === undefined ? '' : `event: ${event}\n`}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;

export const ndjson = (line: unknown): string => `${JSON.stringify(line)}\n`;

/** One eventstream message with `:event-type` (or an exception), JSON payload. */
export const awsEvent = (eventType: string, payload: unknown, messageType = 'event'): Buffer =>
  encodeEventStreamMessage(
    {
      [messageType === 'exception' ? ':exception-type' : ':event-type']: { type: 'string', value: eventType },
      ':content-type': { type: 'string', value: 'application/json' },
      ':message-type': { type: 'string', value: messageType },
    },
    typeof payload === 'string' ? payload : JSON.stringify(payload),
  );

/** A huge string for cap tests. */
export const MEGABYTE_MODEL = 'm'.repeat(1024 * 1024);
