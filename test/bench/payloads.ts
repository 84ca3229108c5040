/**
 * Every request and response body the bench sends, built once as Buffers so the fake upstream and the
 * clients never allocate per call, and so every client knows the exact bytes a target must return.
 */

/** What the fake upstream answers; chosen by the `model` field at the start of the request body. */
export type Mode = 'json' | 'sse' | 'ttft' | 'paced' | 'slow' | 'large' | 'huge' | 'e400' | 'e500';

export const MODES: readonly Mode[] = [
  'json',
  'sse',
  'ttft',
  'paced',
  'slow',
  'large',
  'huge',
  'e400',
  'e500',
];

/** SSE events per stream, not counting the usage event and `[DONE]`. */
export const SSE_EVENTS = 50;
/** Events of the paced (TTFT) stream; the first arrives after `TTFT_DELAY_MS`, the rest at the same cadence. */
export const TTFT_DELAY_MS = 5;
/** The slow stream (open-streams cell): one event per second, so a stream stays open ~30 s. */
export const SLOW_EVENTS = 30;
/** Realistic token pacing (a sidecar's everyday regime): one event every 20 ms. */
export const PACED_INTERVAL_MS = 20;
export const SLOW_INTERVAL_MS = 1000;

const CREATED = 1_767_225_600;

const modelFor = (mode: Mode): string => `bench-${mode}`;

const requestJson = (mode: Mode, stream: boolean, prompt: string): string =>
  JSON.stringify({
    model: modelFor(mode),
    messages: [
      { role: 'system', content: 'You are a terse assistant.' },
      { role: 'user', content: prompt },
    ],
    max_tokens: 64,
    // Asking for streaming usage ourselves keeps the bytes a proxy forwards identical to direct,
    // even when it is configured to inject the option.
    ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
  });

const builders: Record<Mode, () => string> = {
  json: () => requestJson('json', false, 'Say hello in one short sentence.'),
  sse: () => requestJson('sse', true, 'Count from one to fifty.'),
  ttft: () => requestJson('ttft', true, 'Count from one to fifty, slowly.'),
  paced: () => requestJson('paced', true, 'Write fifty tokens at a human pace.'),
  slow: () => requestJson('slow', true, 'Think for a while.'),
  // ~1 MB prompt: the body a RAG app sends with a long context.
  large: () => requestJson('large', false, 'lorem ipsum dolor sit amet '.repeat(38_836)),
  // ~5 MB: above the 4 MB a proxy may buffer for usage injection, so it must stream (correctness only).
  huge: () => requestJson('huge', false, 'lorem ipsum dolor sit amet '.repeat(194_180)),
  e400: () => requestJson('e400', false, 'This request is refused.'),
  e500: () => requestJson('e500', false, 'The upstream fails.'),
};

// Built on first use: every client process imports this module, most never send the big bodies.
const requests = new Map<Mode, Buffer>();

export const requestBody = (mode: Mode): Buffer => {
  let body = requests.get(mode);
  if (body === undefined) {
    body = Buffer.from(builders[mode]());
    requests.set(mode, body);
  }
  return body;
};

/** Mode from the first bytes of a request body (the model name sits in the first chunk). */
export const modeOf = (firstChunk: Buffer): Mode => {
  const at = firstChunk.indexOf('"bench-');
  if (at < 0) return 'json';
  const end = firstChunk.indexOf('"', at + 7);
  const name = firstChunk.toString('latin1', at + 7, end);
  return (MODES as readonly string[]).includes(name) ? (name as Mode) : 'json';
};

const usage = { prompt_tokens: 24, completion_tokens: 50, total_tokens: 74 };

const chatCompletion = (model: string): Buffer => {
  const content =
    'Hello! This is a deterministic answer from the benchmark upstream, padded so the whole body is about one kilobyte. '.repeat(
      6,
    );
  return Buffer.from(
    JSON.stringify({
      id: 'chatcmpl-bench0000000000000000000000',
      object: 'chat.completion',
      created: CREATED,
      model,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content, refusal: null },
          logprobs: null,
          finish_reason: 'stop',
        },
      ],
      usage: {
        ...usage,
        prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
        completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0 },
      },
      service_tier: 'default',
      system_fingerprint: 'fp_bench',
    }),
  );
};

const chunkEvent = (model: string, index: number, count: number): string => {
  const delta = index === 0 ? { role: 'assistant', content: '' } : { content: ` token${index}` };
  const finish = index === count - 1 ? 'stop' : null;
  return `data: ${JSON.stringify({
    id: 'chatcmpl-bench0000000000000000000000',
    object: 'chat.completion.chunk',
    created: CREATED,
    model,
    system_fingerprint: 'fp_bench',
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    usage: null,
  })}\n\n`;
};

const usageEvent = (model: string): string =>
  `data: ${JSON.stringify({
    id: 'chatcmpl-bench0000000000000000000000',
    object: 'chat.completion.chunk',
    created: CREATED,
    model,
    system_fingerprint: 'fp_bench',
    choices: [],
    usage,
  })}\n\n`;

/** The events of one stream, each its own buffer (paced modes write them one by one). */
const sseEvents = (model: string, count: number): Buffer[] => {
  const events: Buffer[] = [];
  for (let i = 0; i < count; i++) events.push(Buffer.from(chunkEvent(model, i, count)));
  events.push(Buffer.from(usageEvent(model)), Buffer.from('data: [DONE]\n\n'));
  return events;
};

export interface Answer {
  readonly status: number;
  readonly contentType: string;
  /** Paced modes: events written one by one; otherwise a single buffer. */
  readonly parts: readonly Buffer[];
  readonly intervalMs: number;
  /** Whole body, for byte comparisons. */
  readonly body: Buffer;
}

const answer = (status: number, contentType: string, parts: Buffer[], intervalMs = 0): Answer => ({
  status,
  contentType,
  parts: intervalMs > 0 ? parts : [Buffer.concat(parts)],
  intervalMs,
  body: Buffer.concat(parts),
});

const errorBody = (message: string, type: string, code: string): Buffer[] => [
  Buffer.from(JSON.stringify({ error: { message, type, param: null, code } })),
];

const answers: Record<Mode, Answer> = {
  json: answer(200, 'application/json', [chatCompletion(modelFor('json'))]),
  large: answer(200, 'application/json', [chatCompletion(modelFor('large'))]),
  huge: answer(200, 'application/json', [chatCompletion(modelFor('huge'))]),
  sse: answer(200, 'text/event-stream', sseEvents(modelFor('sse'), SSE_EVENTS)),
  ttft: answer(200, 'text/event-stream', sseEvents(modelFor('ttft'), SSE_EVENTS), TTFT_DELAY_MS),
  paced: answer(200, 'text/event-stream', sseEvents(modelFor('paced'), SSE_EVENTS), PACED_INTERVAL_MS),
  slow: answer(200, 'text/event-stream', sseEvents(modelFor('slow'), SLOW_EVENTS), SLOW_INTERVAL_MS),
  e400: answer(400, 'application/json', errorBody('bad request', 'invalid_request_error', 'bench_400')),
  e500: answer(500, 'application/json', errorBody('upstream failure', 'server_error', 'bench_500')),
};

export const answerFor = (mode: Mode): Answer => answers[mode];

/** Events relayed per stream (for CPU per event): content events + usage + [DONE]. */
export const eventsPerStream = (mode: Mode): number =>
  answers[mode].body.toString('latin1').split('\n\n').length - 1;

/** Path the clients call below a target's base URL. */
export const CHAT_PATH = '/v1/chat/completions';
