/**
 * The log queue is bounded: when stdout's reader stalls, lines past `maxLogBufferBytes` are dropped and counted
 * instead of piling up in memory, proxying goes on, and the count is reported once the reader catches up.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger, type LogSink } from '../../src/log.ts';
import { rawRequest } from '../helpers/client.ts';
import { type CliRun, launchCli, startCountingUpstream, waitUntil } from './helpers.ts';

/** A sink whose reader is stalled until `drain()`: bytes accumulate in `writableLength`. */
const stalledSink = () => {
  const lines: string[] = [];
  let pending = 0;
  const sink: LogSink & { drain(): void } = {
    write(line: string) {
      lines.push(line);
      pending += Buffer.byteLength(line);
      return false;
    },
    get writableLength() {
      return pending;
    },
    drain() {
      pending = 0;
    },
  };
  return { sink, lines };
};

describe('bounded log queue', () => {
  it('drops lines past the limit, counts them, and reports the count when the reader catches up', () => {
    const { sink, lines } = stalledSink();
    const logger = createLogger('info', sink, 10_000);
    for (let i = 0; i < 1000; i += 1) logger.info('request', { i, path: '/v1/chat/completions' });
    const kept = lines.length;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(1000);
    expect(lines.join('').length).toBeLessThan(10_000 + 200);
    sink.drain();
    logger.info('after');
    const note = JSON.parse(lines[kept] as string) as { msg: string; count: number };
    expect(note.msg).toBe('log lines dropped');
    expect(note.count).toBe(1000 - kept);
    expect(JSON.parse(lines[kept + 1] as string).msg).toBe('after');
  });

  it('a sink without writableLength (synchronous) never drops', () => {
    const lines: string[] = [];
    const logger = createLogger('info', { write: (line: string) => lines.push(line) }, 10);
    for (let i = 0; i < 100; i += 1) logger.info('request', { i });
    expect(lines).toHaveLength(100);
  });
});

describe('bounded log queue through the real CLI', () => {
  let run: CliRun | undefined;
  afterEach(() => {
    if (run !== undefined && run.child.exitCode === null) run.child.kill('SIGKILL');
  });

  it('with stdout unread, calls keep succeeding; the dropped lines are reported when stdout is read again', async () => {
    const upstream = await startCountingUpstream();
    try {
      run = await launchCli(`routes:\n  - {prefix: /up, provider: openai, upstream: "${upstream.url}"}\n`);
      const current = run;
      current.child.stdout?.pause();
      // 600 request lines of ~4 KiB (the path is logged): more than twice the 1 MiB queue.
      const long = `/up/v1/models/${'m'.repeat(4000)}`;
      let ok = 0;
      for (let wave = 0; wave < 30; wave += 1) {
        const answers = await Promise.all(
          Array.from({ length: 20 }, () => rawRequest(`${current.dataUrl}${long}`)),
        );
        ok += answers.filter((a) => a.status === 200).length;
      }
      expect(ok).toBe(600);
      // No further call: the count is reported as soon as the reader drains the queue.
      current.child.stdout?.resume();
      expect(await waitUntil(() => current.stdout().includes('"msg":"log lines dropped"'), 5000)).toBe(true);
      current.child.kill('SIGTERM');
      expect(await current.exited).toBe(0);
    } finally {
      await upstream.close();
    }
  }, 30_000);
});
