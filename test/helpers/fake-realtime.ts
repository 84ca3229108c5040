/**
 * A loopback fake of OpenAI's Realtime WebSocket API following the documented GA event sequence
 * (platform.openai.com/docs/api-reference/realtime-server-events): `session.created` on connect, `session.updated`
 * for `session.update`, and for each `response.create` the lifecycle `response.created` → output item/part events →
 * audio and transcript deltas → `.done` events → `response.done` (usage with text/audio/cached details) →
 * `rate_limits.updated`. Built from the documentation's examples; not a recording.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';

export interface FakeRealtime {
  readonly url: string;
  /** Every text message the fake sent, in order (to compare with what the client received). */
  readonly sent: string[];
  /** Every message the fake received from the client. */
  readonly received: string[];
  /** The `?model=` of each connection, and its request headers. */
  readonly connections: { url: string; headers: Record<string, string | string[] | undefined> }[];
  /** Adds a message of `bytes` bytes (an audio delta) in the middle of the next response. */
  setOversizedDelta(bytes: number | undefined): void;
  close(): Promise<void>;
}

export const realtimeUsage = {
  total_tokens: 253,
  input_tokens: 132,
  output_tokens: 121,
  input_token_details: {
    text_tokens: 119,
    audio_tokens: 13,
    image_tokens: 0,
    cached_tokens: 64,
    cached_tokens_details: { text_tokens: 64, audio_tokens: 0, image_tokens: 0 },
  },
  output_token_details: { text_tokens: 30, audio_tokens: 91 },
};

export const startFakeRealtime = async (options: { perMessageDeflate: boolean }): Promise<FakeRealtime> => {
  const server = new WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    // threshold 0: every message is compressed, so the observer really has to inflate.
    perMessageDeflate: options.perMessageDeflate ? { threshold: 0 } : false,
  });
  await once(server, 'listening');
  const sent: string[] = [];
  const received: string[] = [];
  const connections: FakeRealtime['connections'] = [];
  let oversized: number | undefined;
  let counter = 0;
  server.on('connection', (socket, req) => {
    connections.push({ url: req.url ?? '', headers: req.headers });
    const model = new URL(req.url ?? '/', 'http://x').searchParams.get('model') ?? 'gpt-realtime';
    const send = (event: Record<string, unknown>): void => {
      counter += 1;
      const text = JSON.stringify({ type: event.type, event_id: `event_${counter}`, ...event });
      sent.push(text);
      socket.send(text);
    };
    const session = {
      type: 'realtime',
      object: 'realtime.session',
      id: 'sess_C9G5QPteg4UIbotdKLoYQ',
      model: `${model}-2025-08-28`,
      output_modalities: ['audio'],
      instructions: 'You are a friendly assistant.',
      audio: { output: { voice: 'marin', format: { type: 'audio/pcm', rate: 24000 } } },
    };
    send({ type: 'session.created', session });
    let responses = 0;
    socket.on('message', (data) => {
      const text = data.toString();
      received.push(text);
      const event = JSON.parse(text) as { type: string };
      if (event.type === 'session.update') send({ type: 'session.updated', session });
      if (event.type !== 'response.create') return;
      responses += 1;
      const id = `resp_C9G5RJeHd9ACvP1r${responses}`;
      const item = `item_C9G5R4t0LpQ3eH${responses}`;
      send({
        type: 'response.created',
        response: { object: 'realtime.response', id, status: 'in_progress', output: [], usage: null },
      });
      send({
        type: 'response.output_item.added',
        response_id: id,
        output_index: 0,
        item: { id: item, type: 'message', role: 'assistant', content: [] },
      });
      send({
        type: 'response.content_part.added',
        response_id: id,
        item_id: item,
        output_index: 0,
        content_index: 0,
        part: { type: 'audio', transcript: '' },
      });
      for (let i = 0; i < 3; i += 1) {
        send({
          type: 'response.output_audio.delta',
          response_id: id,
          item_id: item,
          output_index: 0,
          content_index: 0,
          delta: Buffer.alloc(4800, i).toString('base64'),
        });
        send({
          type: 'response.output_audio_transcript.delta',
          response_id: id,
          item_id: item,
          output_index: 0,
          content_index: 0,
          delta: ['Hello', ' there', '!'][i],
        });
        if (i === 1 && oversized !== undefined)
          send({
            type: 'response.output_audio.delta',
            response_id: id,
            item_id: item,
            output_index: 0,
            content_index: 0,
            delta: 'A'.repeat(oversized),
          });
      }
      send({
        type: 'response.output_audio.done',
        response_id: id,
        item_id: item,
        output_index: 0,
        content_index: 0,
      });
      send({
        type: 'response.output_audio_transcript.done',
        response_id: id,
        item_id: item,
        output_index: 0,
        content_index: 0,
        transcript: 'Hello there!',
      });
      send({
        type: 'response.content_part.done',
        response_id: id,
        item_id: item,
        output_index: 0,
        content_index: 0,
        part: { type: 'audio', transcript: 'Hello there!' },
      });
      send({
        type: 'response.output_item.done',
        response_id: id,
        output_index: 0,
        item: { id: item, type: 'message', status: 'completed', role: 'assistant' },
      });
      send({
        type: 'response.done',
        response: {
          object: 'realtime.response',
          id,
          status: 'completed',
          status_details: null,
          output: [
            {
              id: item,
              type: 'message',
              status: 'completed',
              role: 'assistant',
              content: [{ type: 'output_audio', transcript: 'Hello there!' }],
            },
          ],
          conversation_id: 'conv_C9G5RkWmgrFw8xcwjTm8A',
          output_modalities: ['audio'],
          max_output_tokens: 'inf',
          usage: realtimeUsage,
        },
      });
      send({
        type: 'rate_limits.updated',
        rate_limits: [{ name: 'tokens', limit: 40000, remaining: 39747, reset_seconds: 0.379 }],
      });
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    sent,
    received,
    connections,
    setOversizedDelta(bytes) {
      oversized = bytes;
    },
    async close() {
      for (const client of server.clients) client.terminate();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
};
