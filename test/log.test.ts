/** The logger: JSON lines, credential redaction, and batching of one event-loop turn into one write. */
import { describe, expect, it } from 'vitest';
import { createLogger } from '../src/log.ts';

const sinkOf = (): { writes: string[]; write(text: string): void } => {
  const writes: string[] = [];
  return { writes, write: (text: string) => writes.push(text) };
};

describe('logger', () => {
  it('batches the lines of one event-loop turn into one write, in order', async () => {
    const sink = sinkOf();
    const logger = createLogger('info', sink, 1024 * 1024, true);
    logger.info('request', { n: 1 });
    logger.info('request', { n: 2 });
    logger.debug('below the level');
    expect(sink.writes).toHaveLength(0);
    await new Promise((resolve) => setImmediate(resolve));
    expect(sink.writes).toHaveLength(1);
    const lines = (sink.writes[0] as string)
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines.map((line) => line.n)).toEqual([1, 2]);
  });

  it('writes errors at once (with what was batched before them) and flushes on demand', () => {
    const sink = sinkOf();
    const logger = createLogger('info', sink, 1024 * 1024, true);
    logger.info('first');
    logger.error('boom', { code: 'X' });
    expect(sink.writes).toHaveLength(1);
    expect(sink.writes[0]).toMatch(/"first".*\n.*"boom"/s);
    logger.warn('later');
    logger.flush();
    expect(sink.writes).toHaveLength(2);
  });

  it('redacts credentials in any field and leaves ordinary values alone', () => {
    const sink = sinkOf();
    const logger = createLogger('info', sink, 1024 * 1024, false);
    logger.info('request', {
      error: 'upstream said: Authorization: Bearer sk-live-abcdefghijklmnop',
      path: '/v1beta/models/gemini-2.5-flash:generateContent?key=AIzaSyA-canary-000000000000000',
      model: 'gpt-4o-2024-08-06',
    });
    const line = sink.writes[0] as string;
    expect(line).not.toContain('sk-live-abcdefghijklmnop');
    expect(line).not.toContain('AIzaSyA-canary');
    expect(line).toContain('"model":"gpt-4o-2024-08-06"');
    expect(JSON.parse(line).time).toMatch(/^\d{4}-\d\d-\d\dT/);
  });
});
