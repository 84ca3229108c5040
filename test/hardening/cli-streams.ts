/** Streaming calls through the real CLI, shared by the lifecycle suites. */
import { type IncomingMessage, request } from 'node:http';
import { sleep, startCountingUpstream } from './helpers.ts';

export const event = (i: number): string =>
  `data: {"id":"c1","object":"chat.completion.chunk","model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"t${i}"}}]}\n\n`;
export const chatBody = JSON.stringify({
  model: 'gpt-4o-mini',
  stream: true,
  messages: [{ role: 'user', content: 'hi' }],
});

export const open = (url: string): Promise<IncomingMessage> =>
  new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json' } }, resolve);
    req.on('error', reject);
    req.end(chatBody);
  });

export const collect = (res: IncomingMessage): Promise<{ text: string; clean: boolean }> =>
  new Promise((resolve) => {
    let text = '';
    let done = false;
    const finish = (clean: boolean): void => {
      if (!done) {
        done = true;
        resolve({ text, clean });
      }
    };
    res.on('data', (chunk: Buffer) => {
      text += chunk.toString();
    });
    res.on('end', () => finish(res.complete));
    res.on('error', () => finish(false));
    res.on('close', () => finish(res.complete));
  });

/** An upstream streaming `count` events `gapMs` apart, then [DONE]; `count` Infinity streams until closed. */
export const streamingUpstream = (count: number, gapMs: number) =>
  startCountingUpstream(async (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    for (let i = 0; i < count && !res.destroyed; i += 1) {
      res.write(event(i));
      await sleep(gapMs);
    }
    if (!res.destroyed) res.end('data: [DONE]\n\n');
  });

export const routeYaml = (url: string): string =>
  `routes:\n  - {prefix: /up, provider: openai, upstream: "${url}", streamUsage: passthrough}\n`;
