/**
 * A local fake of the OpenAI chat and Anthropic messages APIs for live-view and metrics tests: JSON and
 * streaming answers with known usage, a 429 for the model `rate-limited`, and streams the test can hold
 * mid-way (model names containing `hold`) until it calls `release()`.
 */
import { startUpstream, type Upstream } from './upstream.ts';

export interface FakeLlm extends Upstream {
  /** Streams held mid-way (after their first output chunk) so far. */
  readonly held: number;
  /** Lets every held stream finish. */
  release(): void;
}

const sse = (body: object, event?: string): string =>
  `${event === undefined ? '' : `event: ${event}\n`}data: ${JSON.stringify(body)}\n\n`;

/** Usage the fake reports, per API and mode, for tests to compare against. */
export const fakeUsage = {
  openaiJson: { input: 11, output: 2 },
  openaiStream: { input: 21, output: 7, cached: 16, reasoning: 2 },
  anthropicJson: { input: 10, output: 3, cached: 4 },
  anthropicStream: { input: 25, output: 9 },
} as const;

const openaiChunk = (model: string, delta: object, finish: string | null): string =>
  sse({
    id: 'chatcmpl-fake1',
    object: 'chat.completion.chunk',
    created: 1_780_000_000,
    model,
    choices: [{ index: 0, delta, finish_reason: finish }],
  });

export const startFakeLlm = async (): Promise<FakeLlm> => {
  let waiting: (() => void)[] = [];
  let held = 0;
  const hold = (): Promise<void> =>
    new Promise<void>((resolve) => {
      held += 1;
      waiting.push(resolve);
    });
  const upstream = await startUpstream(async (req, res) => {
    const body = JSON.parse(req.body.toString('utf8') || '{}') as { model?: string; stream?: boolean };
    const model = body.model ?? '';
    const anthropic = req.url.includes('/messages');
    if (model === 'rate-limited') {
      res.writeHead(429, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify(
          anthropic
            ? { type: 'error', error: { type: 'rate_limit_error', message: 'Number of requests over limit' } }
            : { error: { message: 'Rate limit reached', type: 'requests', code: 'rate_limit_exceeded' } },
        ),
      );
      return;
    }
    const responseModel = `${model}-2025-01-01`;
    if (anthropic && body.stream === true) {
      const u = fakeUsage.anthropicStream;
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(
        sse(
          {
            type: 'message_start',
            message: {
              id: 'msg_fake1',
              type: 'message',
              role: 'assistant',
              model: responseModel,
              content: [],
              stop_reason: null,
              stop_sequence: null,
              usage: { input_tokens: u.input, output_tokens: 1 },
            },
          },
          'message_start',
        ),
      );
      res.write(
        sse(
          { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
          'content_block_start',
        ),
      );
      res.write(
        sse(
          { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hel' } },
          'content_block_delta',
        ),
      );
      if (model.includes('hold')) await hold();
      res.write(
        sse(
          { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'lo' } },
          'content_block_delta',
        ),
      );
      res.write(sse({ type: 'content_block_stop', index: 0 }, 'content_block_stop'));
      res.write(
        sse(
          {
            type: 'message_delta',
            delta: { stop_reason: 'end_turn', stop_sequence: null },
            usage: { output_tokens: u.output },
          },
          'message_delta',
        ),
      );
      res.end(sse({ type: 'message_stop' }, 'message_stop'));
      return;
    }
    if (anthropic) {
      const u = fakeUsage.anthropicJson;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          id: 'msg_fake0',
          type: 'message',
          role: 'assistant',
          model: responseModel,
          content: [{ type: 'text', text: 'Hi' }],
          stop_reason: 'end_turn',
          stop_sequence: null,
          usage: {
            input_tokens: u.input - u.cached,
            output_tokens: u.output,
            cache_read_input_tokens: u.cached,
            cache_creation_input_tokens: 0,
          },
        }),
      );
      return;
    }
    if (body.stream === true) {
      const u = fakeUsage.openaiStream;
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(openaiChunk(responseModel, { role: 'assistant', content: 'Hel' }, null));
      if (model.includes('hold')) await hold();
      res.write(openaiChunk(responseModel, { content: 'lo' }, 'stop'));
      res.write(
        sse({
          id: 'chatcmpl-fake1',
          object: 'chat.completion.chunk',
          created: 1_780_000_000,
          model: responseModel,
          choices: [],
          usage: {
            prompt_tokens: u.input,
            completion_tokens: u.output,
            total_tokens: u.input + u.output,
            prompt_tokens_details: { cached_tokens: u.cached },
            completion_tokens_details: { reasoning_tokens: u.reasoning },
          },
        }),
      );
      res.end('data: [DONE]\n\n');
      return;
    }
    const u = fakeUsage.openaiJson;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        id: 'chatcmpl-fake0',
        object: 'chat.completion',
        created: 1_780_000_000,
        model: responseModel,
        choices: [
          { index: 0, message: { role: 'assistant', content: 'Hi' }, finish_reason: 'stop', logprobs: null },
        ],
        usage: { prompt_tokens: u.input, completion_tokens: u.output, total_tokens: u.input + u.output },
      }),
    );
  });
  const release = (): void => {
    const resolve = waiting;
    waiting = [];
    for (const fn of resolve) fn();
  };
  // A getter, so `held` reads the live count (Object.assign would copy today's value).
  return Object.defineProperties(upstream, {
    held: { get: () => held },
    release: { value: release },
  }) as FakeLlm;
};
