/**
 * Planning the streaming-usage patch runs before the request is forwarded. Large bodies are skimmed instead
 * of parsed whole; the plan must be the one a whole-body JSON.parse gives, byte for byte, for every shape.
 */
import { describe, expect, it } from 'vitest';
import { openAiStreamUsage } from '../../providers/stream-usage.ts';
import { planUsageInjection } from '../../src/capture/usage-injection.ts';

/** The plan as it was made before skimming: JSON.parse of the whole body. */
const referencePatch = (body: Buffer): string | undefined => {
  if (body.indexOf('"stream"') === -1) return undefined;
  try {
    return openAiStreamUsage.patchRequest(JSON.parse(body.toString('utf8')));
  } catch {
    return undefined;
  }
};

const big = 'lorem ipsum dolor sit amet, "quoted" \\ backslash \u00e9t\u00e9 '.repeat(6000); // ~330 KB
const bodies: Record<string, string> = {
  'stream, large messages': JSON.stringify({
    model: 'gpt-4o',
    messages: [{ role: 'user', content: big }],
    stream: true,
  }),
  'stream first, large messages last': JSON.stringify({
    stream: true,
    model: 'm',
    messages: [{ role: 'user', content: big }],
  }),
  'stream_options already set': JSON.stringify({
    model: 'm',
    messages: [{ role: 'user', content: big }],
    stream: true,
    stream_options: null,
  }),
  'not streaming': JSON.stringify({ model: 'm', messages: [{ role: 'user', content: big }], stream: false }),
  'messages is a large string': JSON.stringify({ model: 'm', messages: big, stream: true }),
  'large tools object, small messages': JSON.stringify({
    model: 'm',
    tools: { spec: big },
    messages: [],
    stream: true,
  }),
  'whitespace around members': ` {\n "model" : "m" ,\n "messages" : [ {"role":"user","content":${JSON.stringify(big)}} ] ,\n "stream" : true }\n`,
  'truncated (malformed)': JSON.stringify({
    model: 'm',
    messages: [{ role: 'user', content: big }],
    stream: true,
  }).slice(0, -3),
  'trailing garbage (malformed)': `${JSON.stringify({ model: 'm', messages: [{ content: big }], stream: true })} x`,
  'small body': JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }], stream: true }),
};

describe('planUsageInjection on large bodies', () => {
  it.each(Object.entries(bodies))('%s: same decision and bytes as parsing the whole body', (_name, text) => {
    const body = Buffer.from(text);
    const reference = referencePatch(body);
    const plan = planUsageInjection(body, openAiStreamUsage);
    if (reference === undefined) {
      expect(plan).toBeUndefined();
      return;
    }
    expect(plan).toBeDefined();
    const open = body.indexOf('{');
    const expected = Buffer.concat([
      body.subarray(0, open + 1),
      Buffer.from(reference),
      body.subarray(open + 1),
    ]);
    expect(plan?.body.equals(expected)).toBe(true);
  });

  it('the cases above cover both decisions on bodies above the skim threshold', () => {
    const decisions = Object.entries(bodies)
      .filter(([, text]) => text.length > 64 * 1024)
      .map(([, text]) => referencePatch(Buffer.from(text)) !== undefined);
    expect(decisions).toContain(true);
    expect(decisions).toContain(false);
  });
});
