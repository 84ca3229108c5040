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

/**
 * An upstream streaming `count` events: the first `before` at once, the rest (`gapMs` apart) only after `release()`,
 * so a test decides when the stream may end instead of racing a timer on a loaded machine.
 */
export const gatedUpstream = async (count: number, before: number, gapMs = 10) => {
  let release: () => void = () => undefined;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  const upstream = await startCountingUpstream(async (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    for (let i = 0; i < count && !res.destroyed; i += 1) {
      if (i === before) await released;
      res.write(event(i));
      if (i >= before) await sleep(gapMs);
    }
    if (!res.destroyed) res.end('data: [DONE]\n\n');
  });
  return { upstream, release };
};

/** Resolves when the first body bytes of `res` arrived (attach the reader first, e.g. `collect`). */
export const firstData = (res: IncomingMessage): Promise<void> =>
  new Promise((resolve) => {
    res.once('data', () => resolve());
  });
