/**
 * A local fake OpenAI Chat Completions upstream for mode and coexistence tests: answers JSON or SSE (when the
 * request says `stream: true`) with fixed usage, echoing the request's model with a date suffix as the response
 * model, so tests can tell calls apart by model. Usage is streamed only when `stream_options.include_usage` is
 * set, as OpenAI does.
 */
import { startUpstream, type Upstream } from './upstream.ts';

export const FAKE_USAGE = { prompt_tokens: 9, completion_tokens: 3, total_tokens: 12 } as const;
export const FAKE_TEXT = 'Hi there';

export const responseModelFor = (model: string): string => `${model}-2024-07-18`;

export const startFakeOpenAi = (): Promise<Upstream> =>
  startUpstream((req, res) => {
    const body = JSON.parse(req.body.toString('utf8')) as {
      model?: string;
      stream?: boolean;
      stream_options?: { include_usage?: boolean };
    };
    const model = responseModelFor(body.model ?? 'unknown');
    if (body.stream === true) {
      const chunk = (delta: object, finish: string | null, extra: object = {}): string =>
        `data: ${JSON.stringify({
          id: 'chatcmpl-fake1',
          object: 'chat.completion.chunk',
          created: 1,
          model,
          choices: [{ index: 0, delta, finish_reason: finish }],
          ...extra,
        })}\n\n`;
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(chunk({ role: 'assistant', content: 'Hi' }, null));
      res.write(chunk({ content: ' there' }, null));
      res.write(chunk({}, 'stop'));
      if (body.stream_options?.include_usage === true) {
        res.write(
          `data: ${JSON.stringify({ id: 'chatcmpl-fake1', object: 'chat.completion.chunk', created: 1, model, choices: [], usage: FAKE_USAGE })}\n\n`,
        );
      }
      res.end('data: [DONE]\n\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        id: 'chatcmpl-fake2',
        object: 'chat.completion',
        created: 1,
        model,
        choices: [{ index: 0, message: { role: 'assistant', content: FAKE_TEXT }, finish_reason: 'stop' }],
        usage: FAKE_USAGE,
      }),
    );
  });
