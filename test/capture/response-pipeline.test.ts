import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { ParsedRequest, ResponseHead } from '../../src/adapter.ts';
import type { TelemetryStage } from '../../src/call-observer.ts';
import { ResponsePipeline } from '../../src/capture/response-pipeline.ts';
import type { Limits } from '../../src/config/schema.ts';
import { createFakeAdapter, type FakeHooks } from './fake-adapter.ts';

const limits = { maxFrameBytes: 1024, maxDecodedBytes: 4096 } as Limits;
const options = { limits, parseOptions: { captureContent: false, maxCapturedChars: 100 } };
const request: ParsedRequest = { operation: 'chat', requestModel: 'm', stream: true, params: {} };

const head = (headers: Record<string, string> = {}): ResponseHead => ({
  status: 200,
  headers: { 'content-type': 'text/event-stream', ...headers },
  contentType: 'text/event-stream',
});

const sse = (...objects: unknown[]): Buffer =>
  Buffer.from(objects.map((object) => `data: ${JSON.stringify(object)}\n\n`).join(''));

const open = (hooks: FakeHooks = {}, headers: Record<string, string> = {}) => {
  const failures: [TelemetryStage, string][] = [];
  const pipeline = new ResponsePipeline(
    createFakeAdapter(hooks),
    request,
    head(headers),
    options,
    5,
    (stage, error) => failures.push([stage, (error as Error).message]),
  );
  return { pipeline, failures };
};

describe('ResponsePipeline', () => {
  it('decodes, frames and parses; one output chunk per output frame, the first stamped with its chunk`s time', () => {
    const { pipeline, failures } = open();
    const body = sse({ text: 'a' }, { model: 'x' }, { text: 'b' }, { output: 2, done: true });
    pipeline.push(body.subarray(0, 10), 10);
    pipeline.push(body.subarray(10), 20);
    expect(pipeline.end()).toBeUndefined();
    const parsed = pipeline.finish(true);
    expect(parsed?.responseModel).toBe('x');
    expect(parsed?.usage.outputTokens).toBe(2);
    expect(parsed?.terminal).toBe(true);
    expect(pipeline.outputChunks).toBe(2);
    expect(pipeline.firstOutput).toBe(20);
    expect(pipeline.truncated).toBe(false);
    expect(failures).toEqual([]);
  });

  it('decodes a compressed body asynchronously (end() gives a promise) to the same facts', async () => {
    const { pipeline, failures } = open({}, { 'content-encoding': 'gzip' });
    pipeline.push(gzipSync(sse({ text: 'a' }, { input: 3, done: true })), 7);
    await pipeline.end();
    const parsed = pipeline.finish(true);
    expect(parsed?.usage.inputTokens).toBe(3);
    expect(pipeline.outputChunks).toBe(1);
    expect(failures).toEqual([]);
  });

  const stages: [string, FakeHooks, Record<string, string>, TelemetryStage][] = [
    ['the adapter`s framing choice', { throwIn: 'framing' }, {}, 'parse'],
    ['the adapter`s parser factory', { throwIn: 'createParser' }, {}, 'parse'],
    ['an unknown framing', { framing: 'bogus' as never }, {}, 'framing'],
    ['an unsupported content-encoding', {}, { 'content-encoding': 'x-unknown' }, 'decode'],
  ];
  for (const [name, hooks, headers, stage] of stages) {
    it(`a failure building ${name} is reported once under '${stage}' and stops the pipeline`, () => {
      const { pipeline, failures } = open(hooks, headers);
      expect(failures.map(([s]) => s)).toEqual([stage]);
      pipeline.push(sse({ text: 'a' }), 1);
      pipeline.finish(true);
      expect(pipeline.outputChunks).toBe(0);
      expect(failures).toHaveLength(1);
    });
  }

  it('a parser that throws mid-stream is blamed on parse, parses nothing more, and still reports what it saw', () => {
    const { pipeline, failures } = open({ throwIn: 'push', throwFromFrame: 2 });
    pipeline.push(sse({ text: 'a', model: 'seen' }, { text: 'b' }, { text: 'c' }), 1);
    const parsed = pipeline.finish(true);
    expect(failures).toEqual([['parse', 'push exploded']]);
    expect(pipeline.outputChunks).toBe(1);
    expect(parsed?.responseModel).toBe('seen');
    // After a failure the parser is told the body was not whole.
    expect(parsed?.terminal).toBe(false);
  });

  it('stop() from the owner ends decoding and parsing', () => {
    const frames: string[] = [];
    const { pipeline, failures } = open({ frames });
    pipeline.push(sse({ text: 'a' }), 1);
    pipeline.stop();
    pipeline.push(sse({ text: 'b' }), 2);
    pipeline.finish(true);
    expect(frames).toEqual(['{"text":"a"}']);
    expect(failures).toEqual([]);
  });

  it('a frame over the cap is dropped and marks the parse truncated', () => {
    const { pipeline } = open();
    pipeline.push(sse({ text: 'x'.repeat(2000) }, { done: true }), 1);
    pipeline.finish(true);
    expect(pipeline.truncated).toBe(true);
    expect(pipeline.decodeTruncated).toBe(false);
  });
});
