/** The logger: JSON lines, credential redaction, and batching of one event-loop turn into one write. */
import { describe, expect, it, vi } from 'vitest';
import { createLogger, formatLine, type LogFields } from '../src/log.ts';
import { redactText } from '../src/redact.ts';

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

describe('formatLine', () => {
  // The reference: what the logger wrote before the line was built by hand.
  const reference = (level: string, time: string, msg: unknown, fields?: object): string =>
    JSON.stringify({ level, time, msg, ...fields }, (_key, value: unknown) => {
      if (typeof value === 'string') return redactText(value);
      if (typeof value === 'bigint') return value.toString();
      if (value instanceof Error) return { name: value.name, message: redactText(value.message) };
      return value;
    });

  const inherited = Object.create({ inheritedKey: 'not own' }) as Record<string, unknown>;
  inherited.own = 1;
  const cases: readonly (readonly [string, unknown, object | undefined])[] = [
    ['no fields', 'request', undefined],
    ['empty fields', 'request', {}],
    [
      'a request line',
      'request',
      {
        method: 'POST',
        route: '/openai',
        path: '/v1/chat/completions',
        upstream: 'api.openai.com',
        status: 200,
        durationMs: 1.234,
        bytesIn: 120,
        bytesOut: 0,
        error: 'CLIENT_ABORTED',
      },
    ],
    [
      'credentials in values and msg',
      'said Bearer sk-proj-SECRET0123456789',
      {
        error: 'upstream said: Authorization: Bearer sk-live-abcdefghijklmnop',
        path: '/v1beta/models/x:generateContent?key=AIzaSyA-canary-000000000000000',
        'x-api-key': 'api-key: SECRETazure0123',
      },
    ],
    [
      'every kind of value',
      'kinds',
      {
        s: 'quote " backslash \\ newline \n tab \t nul \u0000 lone \ud800 emoji 😀 latin1 é',
        n: -0,
        nan: Number.NaN,
        inf: Number.POSITIVE_INFINITY,
        big: 12345678901234567890n,
        t: true,
        f: false,
        nil: null,
        undef: undefined,
        fn: () => 1,
        sym: Symbol('x'),
        err: new Error('key=SECRETquery01 failed'),
        date: new Date(0),
        arr: [1, 'Bearer sk-proj-SECRET0123456789', undefined, { deep: 'token=SECRET' }],
        obj: { nested: { key: 'AIzaSySECRET0123456789abcdefghijk' } },
        boxed: new String('boxed'),
        'odd "key"\n': 1,
        __proto__x: 1,
      },
    ],
    ['a reserved key overrides in place', 'msg', { a: 1, level: 'custom', b: 2 }],
    ['a reserved key set to undefined drops the member', 'msg', { time: undefined }],
    ['msg in fields', 'msg', { msg: 'Bearer sk-proj-SECRET0123456789' }],
    ['index-like keys go first', 'msg', { a: 1, 2: 'two', 10: 'ten' }],
    ['a digit-led key that is not an index', 'msg', { '1a': 1, b: 2 }],
    ['toJSON in fields', 'msg', { toJSON: () => 'whole line' }],
    ['inherited keys are not copied', 'msg', inherited],
    ['a non-string msg', 42, { a: 1 }],
    ['an own __proto__ key', 'msg', JSON.parse('{"__proto__":"x","a":1}') as object],
    ['separators and DEL pass unescaped', 'line\u2028sep\u2029 del\u007f', { s: '\u2028\u2029\u007f' }],
    ['a string that needs no escaping', 'plain', { s: 'POST /v1/chat/completions 127.0.0.1' }],
  ];

  for (const [name, msg, fields] of cases) {
    it(`matches JSON.stringify with the redacting replacer: ${name}`, () => {
      for (const level of ['debug', 'info', 'warn', 'error'] as const) {
        const line = formatLine(level, msg as string, fields as LogFields);
        const time = (JSON.parse(line) as { time?: string }).time ?? new Date().toISOString();
        expect(line).toBe(reference(level, time, msg, fields));
      }
    });
  }

  const pairs: readonly (readonly [string, object, object | undefined])[] = [
    ['facts then observer fields', { method: 'POST', status: 200, durationMs: 1.5 }, { model: 'm', n: 3 }],
    ['no more fields', { a: 1 }, undefined],
    ['a key of more already in fields overrides in place', { a: 1, b: 2 }, { a: 'x', c: 3 }],
    ['an overriding undefined drops the member', { a: 1, b: 2 }, { a: undefined }],
    ['a reserved key in more', { a: 1 }, { level: 'custom' }],
    ['credentials in more', { a: 1 }, { error: 'Authorization: Bearer sk-live-abcdefghijklmnop' }],
    ['undefined and objects in more', { a: 1 }, { u: undefined, o: { k: [1, 'token=SECRET'] }, nil: null }],
  ];
  for (const [name, fields, more] of pairs) {
    it(`with more fields, matches JSON.stringify of the merged object: ${name}`, () => {
      const line = formatLine('info', 'request', fields as LogFields, more as LogFields | undefined);
      const time = (JSON.parse(line) as { time?: string }).time ?? '';
      expect(line).toBe(reference('info', time, 'request', { ...fields, ...more }));
    });
  }

  it('writes the same line through infoWith as through info with the merged fields', () => {
    const lines: string[] = [];
    const logger = createLogger('info', { write: (line: string) => lines.push(line) }, 1 << 20, false);
    vi.useFakeTimers({ now: Date.UTC(2026, 0, 1) });
    try {
      logger.infoWith?.('request', { a: 1, s: 'x' }, { b: true, s2: 'Bearer sk-proj-SECRET0123456789' });
      logger.info('request', { a: 1, s: 'x', b: true, s2: 'Bearer sk-proj-SECRET0123456789' });
    } finally {
      vi.useRealTimers();
    }
    expect(lines).toHaveLength(2);
    expect(lines[0]).toBe(lines[1]);
    expect(lines[0]).not.toContain('SECRET');
  });

  it('escapes arbitrary strings exactly as JSON.stringify does', () => {
    const pool = [
      'a',
      'Z',
      '"',
      '\\',
      '\n',
      '\u0000',
      '\u001f',
      '\u007f',
      '\ud83d',
      '\ude00',
      '😀',
      'é',
      '\u2028',
      ' ',
    ];
    let seed = 1;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    for (let n = 0; n < 500; n++) {
      let text = '';
      const length = Math.floor(random() * 12);
      for (let i = 0; i < length; i++) text += pool[Math.floor(random() * pool.length)];
      const line = formatLine('info', text, { [`k${text}`]: text });
      expect(line).toBe(
        reference('info', (JSON.parse(line) as { time: string }).time, text, { [`k${text}`]: text }),
      );
    }
  });

  it('writes the current time', () => {
    const before = Date.now();
    const { time } = JSON.parse(formatLine('info', 'x')) as { time: string };
    expect(Date.parse(time)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(time)).toBeLessThanOrEqual(Date.now());
  });
});

describe('the line time', () => {
  it('is new Date().toISOString() at every millisecond of a second and across years', () => {
    const starts = [
      Date.UTC(2026, 10, 27, 13, 0, 59),
      Date.UTC(1999, 11, 31, 23, 59, 59),
      0,
      Date.UTC(10000, 0, 1),
    ];
    for (const start of starts) {
      for (let ms = start; ms < start + 2000; ms += 7) {
        vi.setSystemTime(ms);
        expect((JSON.parse(formatLine('info', 'x')) as { time: string }).time).toBe(
          new Date(ms).toISOString(),
        );
      }
    }
    vi.useRealTimers();
  });
});

describe('a broken sink', () => {
  it("after the sink's first error, lines are dropped and counted, the listener is told once, nothing throws", async () => {
    const { EventEmitter } = await import('node:events');
    const emitter = new EventEmitter();
    const writes: string[] = [];
    const sink = Object.assign(emitter, { write: (text: string) => writes.push(text) });
    const told: Error[] = [];
    const logger = createLogger('info', sink, 1024 * 1024, true, (error) => told.push(error));
    logger.info('before');
    logger.flush();
    expect(writes).toHaveLength(1);
    const epipe = Object.assign(new Error('write EPIPE'), { code: 'EPIPE' });
    sink.emit('error', epipe);
    sink.emit('error', epipe);
    logger.info('a');
    logger.error('b');
    logger.warnRateLimited('k', 'c');
    logger.flush();
    expect(writes).toHaveLength(1);
    expect(told).toEqual([epipe]);
    expect(logger.sinkError()).toBe(epipe);
    expect(logger.droppedLines()).toBe(3);
  });

  it('a sink that throws on write is broken too: the batch it held is counted, later lines dropped', () => {
    const told: Error[] = [];
    let calls = 0;
    const sink = {
      write: () => {
        calls += 1;
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      },
    };
    const logger = createLogger('info', sink, 1024 * 1024, true, (error) => told.push(error));
    logger.info('one');
    logger.info('two');
    expect(() => logger.flush()).not.toThrow();
    logger.error('three');
    expect(calls).toBe(1);
    expect(told).toHaveLength(1);
    expect(logger.droppedLines()).toBe(3);
  });
});
