/** The process-level fault policy as a unit: counts, redacts, slides its window, and never throws itself. */
import { describe, expect, it } from 'vitest';
import { createFaultPolicy } from '../../src/cli.ts';
import { createLogger } from '../../src/log.ts';

const setup = (threshold = 3, windowMs = 1000) => {
  const lines: string[] = [];
  let clock = 0;
  let storms = 0;
  let counted = 0;
  const onFault = createFaultPolicy({
    logger: createLogger('info', { write: (line: string) => lines.push(line) }),
    count: () => {
      counted += 1;
    },
    onStorm: () => {
      storms += 1;
    },
    stormThreshold: threshold,
    windowMs,
    now: () => clock,
  });
  return {
    onFault,
    lines,
    tick: (ms: number) => {
      clock += ms;
    },
    storms: () => storms,
    counted: () => counted,
  };
};

describe('createFaultPolicy', () => {
  it('logs and counts every fault; storms only past the threshold within the window, once', () => {
    const p = setup(3, 1000);
    for (let i = 0; i < 3; i += 1) p.onFault(new Error(`boom ${i}`), 'uncaughtException');
    expect(p.storms()).toBe(0);
    p.onFault(new Error('boom 3'), 'uncaughtException');
    expect(p.storms()).toBe(1);
    for (let i = 0; i < 10; i += 1) p.onFault(new Error('more'), 'uncaughtException');
    expect(p.storms()).toBe(1);
    expect(p.counted()).toBe(14);
    expect(p.lines).toHaveLength(14);
  });

  it('faults spread wider than the window never storm', () => {
    const p = setup(3, 1000);
    for (let i = 0; i < 50; i += 1) {
      p.onFault(new Error('rare'), 'uncaughtException');
      p.tick(400);
    }
    expect(p.storms()).toBe(0);
  });

  it('redacts the message, keeps only stack frames, and handles non-Error reasons', () => {
    const p = setup();
    p.onFault(
      new Error('failed with Bearer sk-proj-SECRETSECRET1234 and x-api-key SECRETshapeless'),
      'uncaughtException',
    );
    p.onFault('a string reason', 'unhandledRejection');
    p.onFault(undefined, 'unhandledRejection');
    const text = p.lines.join('');
    expect(text).not.toContain('SECRET');
    const first = JSON.parse(p.lines[0] as string) as Record<string, unknown>;
    expect(first.error).toBe('Error');
    expect(String(first.frames)).toMatch(/^ {4}at /);
    expect(String(first.frames)).not.toContain('failed with');
    expect(JSON.parse(p.lines[1] as string).error).toBe('string');
  });

  it('never throws, even when logging and counting throw', () => {
    const onFault = createFaultPolicy({
      logger: {
        ...createLogger('silent'),
        error: () => {
          throw new Error('logger down');
        },
      },
      count: () => {
        throw new Error('counter down');
      },
      onStorm: () => {
        throw new Error('storm handler down');
      },
      stormThreshold: 0,
    });
    expect(() => onFault(new Error('x'), 'uncaughtException')).not.toThrow();
  });
});
