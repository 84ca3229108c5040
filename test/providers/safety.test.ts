/**
 * Safety signals per adapter, from the providers' documented shapes (every body here is synthesised from the
 * documentation cited next to it, unless it names a recorded fixture): Azure OpenAI content filters, OpenAI
 * refusals (chat, Responses), Anthropic refusals, Gemini/Vertex blocks and numeric enums, Bedrock guardrail
 * policies. Caps and malformed input: bounded, never thrown on. Property tests: a body without the field
 * yields no safety facts and the same other facts as with it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_CATEGORIES, MAX_FINDINGS } from '../../providers/safety.ts';
import type { LlmCall } from '../../src/record.ts';
import { loadRecordedFixtures } from '../helpers/recorded.ts';
import { awsEvent, type Exchange, replay, sse } from './helpers.ts';

const AZURE_CHAT = '/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21';

/** learn.microsoft.com/azure/ai-foundry/openai/concepts/content-filter: annotations on every choice and prompt. */
const verdicts = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
  hate: { filtered: false, severity: 'safe' },
  self_harm: { filtered: false, severity: 'safe' },
  sexual: { filtered: false, severity: 'safe' },
  violence: { filtered: false, severity: 'safe' },
  ...overrides,
});

const azureBody = (choice: Record<string, unknown>, prompt: unknown = verdicts()) => ({
  id: 'chatcmpl-1',
  object: 'chat.completion',
  model: 'gpt-4o-2024-08-06',
  prompt_filter_results: [{ prompt_index: 0, content_filter_results: prompt }],
  choices: [
    {
      index: 0,
      finish_reason: 'stop',
      message: { role: 'assistant', content: 'Hello' },
      content_filter_results: verdicts(),
      ...choice,
    },
  ],
  usage: { prompt_tokens: 9, completion_tokens: 2, total_tokens: 11 },
});

const azure = (body: unknown, status = 200): Exchange => ({
  adapter: 'azure-openai',
  path: AZURE_CHAT,
  requestBody: { messages: [{ role: 'user', content: 'hi' }] },
  status,
  contentType: 'application/json',
  body: JSON.stringify(body),
});

/** Everything but the safety facts (what a body without the new field must leave unchanged). */
const otherFacts = (call: LlmCall) => {
  const { safety: _safety, ...rest } = call.response;
  return { response: rest, outcome: call.outcome };
};

describe('Azure OpenAI content filters', () => {
  it('reads prompt and completion results, keeping filtered/severity/detected only', async () => {
    const call = await replay(
      azure(
        azureBody(
          {
            content_filter_results: verdicts({
              protected_material_code: {
                filtered: false,
                detected: true,
                citation: { URL: 'https://github.com/x/y', license: 'MIT' },
              },
              custom_blocklists: { filtered: false, details: [{ filtered: false, id: 'my-list' }] },
            }),
          },
          verdicts({ jailbreak: { filtered: false, detected: false } }),
        ),
      ),
    );
    const safety = call.response.safety;
    expect(safety?.promptFilterResults).toEqual([
      { promptIndex: 0, categories: verdicts({ jailbreak: { filtered: false, detected: false } }) },
    ]);
    expect(safety?.completionFilterResults).toEqual(
      verdicts({
        protected_material_code: { filtered: false, detected: true },
        custom_blocklists: { filtered: false },
      }),
    );
    expect(JSON.stringify(safety)).not.toContain('github.com');
    expect(JSON.stringify(safety)).not.toContain('my-list');
    expect(safety?.block).toBeUndefined();
  });

  it('a filtered category and the content_filter finish reason are an output block', async () => {
    const call = await replay(
      azure(
        azureBody({
          finish_reason: 'content_filter',
          message: { role: 'assistant', content: null },
          content_filter_results: verdicts({ violence: { filtered: true, severity: 'high' } }),
        }),
      ),
    );
    expect(call.response.finishReasons).toEqual(['content_filter']);
    expect(call.response.safety?.block).toEqual({ reason: 'content_filter', stage: 'output' });
    expect(call.response.safety?.categories).toEqual(['violence']);
    expect(call.response.safety?.completionFilterResults?.violence).toEqual({
      filtered: true,
      severity: 'high',
    });
  });

  it('a 400 content_filter error is an input block with the innererror verdicts', async () => {
    // The documented error shape for a prompt that tripped the filter.
    const call = await replay(
      azure(
        {
          error: {
            message:
              "The response was filtered due to the prompt triggering Azure OpenAI's content management policy.",
            type: null,
            param: 'prompt',
            code: 'content_filter',
            status: 400,
            innererror: {
              code: 'ResponsibleAIPolicyViolation',
              content_filter_result: verdicts({
                jailbreak: { filtered: true, detected: true },
                hate: { filtered: true, severity: 'medium' },
              }),
            },
          },
        },
        400,
      ),
    );
    expect(call.response.error).toEqual({ type: 'content_filter', midStream: false });
    expect(call.response.safety?.block).toEqual({ reason: 'content_filter', stage: 'input' });
    expect([...(call.response.safety?.categories ?? [])].sort()).toEqual(['hate', 'jailbreak']);
    expect(call.response.safety?.promptFilterResults?.[0]?.categories.jailbreak).toEqual({
      filtered: true,
      detected: true,
    });
  });

  it('streams: the filter-only first chunk, and verdicts spread over chunks merged worst-first', async () => {
    const chunk = (choice: Record<string, unknown>) => ({
      id: 'chatcmpl-2',
      object: 'chat.completion.chunk',
      model: 'gpt-4o-2024-08-06',
      choices: [{ index: 0, finish_reason: null, ...choice }],
    });
    const body =
      sse({
        id: '',
        model: '',
        created: 0,
        choices: [],
        prompt_filter_results: [{ prompt_index: 0, content_filter_results: verdicts() }],
      }) +
      sse(chunk({ delta: { role: 'assistant', content: '' }, content_filter_results: {} })) +
      sse(chunk({ delta: { content: 'A' }, content_filter_results: verdicts() })) +
      sse(
        chunk({
          delta: { content: 'B' },
          content_filter_results: verdicts({ violence: { filtered: false, severity: 'low' } }),
        }),
      ) +
      sse(chunk({ delta: { content: 'C' }, content_filter_results: verdicts() })) +
      // Asynchronous filtering annotates after the finish chunk, without a delta.
      sse(chunk({ delta: {}, finish_reason: 'stop', content_filter_results: verdicts() })) +
      sse(chunk({ content_filter_results: verdicts({ sexual: { filtered: false, severity: 'medium' } }) })) +
      sse('[DONE]');
    for (const chunking of ['whole', 'byte', { random: 7 }] as const) {
      const call = await replay(
        {
          adapter: 'azure-openai',
          path: AZURE_CHAT,
          requestBody: { stream: true, messages: [] },
          contentType: 'text/event-stream',
          body,
        },
        chunking,
      );
      expect(call.response.responseId).toBe('chatcmpl-2');
      expect(call.response.safety?.promptFilterResults).toEqual([{ promptIndex: 0, categories: verdicts() }]);
      expect(call.response.safety?.completionFilterResults).toEqual(
        verdicts({
          violence: { filtered: false, severity: 'low' },
          sexual: { filtered: false, severity: 'medium' },
        }),
      );
      expect(call.response.safety?.block).toBeUndefined();
    }
  });

  it('unknown categories pass through as strings; malformed and enormous objects are capped, never thrown on', async () => {
    const many: Record<string, unknown> = {};
    for (let i = 0; i < 500; i++)
      many[`category_${i}_${'x'.repeat(200)}`] = { filtered: i === 7, severity: 'low' };
    const call = await replay(
      azure(
        azureBody(
          { content_filter_results: many },
          {
            brand_new_category: { filtered: false, severity: 'nuanced' },
            not_an_object: 'yes',
            array: [1, 2],
            empty: {},
            nulls: null,
            weird: { filtered: 'yes', severity: 42 },
          },
        ),
      ),
    );
    const safety = call.response.safety;
    expect(safety?.promptFilterResults?.[0]?.categories).toEqual({
      brand_new_category: { filtered: false, severity: 'nuanced' },
    });
    const completion = safety?.completionFilterResults ?? {};
    expect(Object.keys(completion)).toHaveLength(MAX_CATEGORIES);
    for (const name of Object.keys(completion)) expect(name.length).toBeLessThanOrEqual(64);
    expect(safety?.truncated).toBe(true);
    expect(safety?.block).toEqual({ reason: 'content_filter', stage: 'output' });
    // The usual facts are untouched.
    expect(call.response.usage.inputTokens).toBe(9);
  });

  it('property: a body without filter results has no safety facts and the same other facts', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          finish: fc.constantFrom('stop', 'length', 'tool_calls'),
          prompt: fc.nat({ max: 100000 }),
          completion: fc.nat({ max: 100000 }),
          severity: fc.constantFrom('safe', 'low', 'medium', 'high'),
          filtered: fc.boolean(),
          stream: fc.boolean(),
        }),
        async ({ finish, prompt, completion, severity, filtered, stream }) => {
          const results = verdicts({ hate: { filtered, severity } });
          const usage = { prompt_tokens: prompt, completion_tokens: completion };
          const build = (withFilters: boolean): Exchange => {
            if (!stream) {
              const body: Record<string, unknown> = {
                id: 'chatcmpl-p',
                model: 'gpt-4o',
                choices: [
                  {
                    index: 0,
                    finish_reason: finish,
                    message: { content: 'x' },
                    ...(withFilters ? { content_filter_results: results } : {}),
                  },
                ],
                usage,
              };
              if (withFilters)
                body.prompt_filter_results = [{ prompt_index: 0, content_filter_results: results }];
              return azure(body);
            }
            const text =
              (withFilters
                ? sse({
                    id: '',
                    model: '',
                    choices: [],
                    prompt_filter_results: [{ prompt_index: 0, content_filter_results: results }],
                  })
                : '') +
              sse({
                id: 'chatcmpl-p',
                model: 'gpt-4o',
                choices: [
                  {
                    index: 0,
                    delta: { content: 'x' },
                    ...(withFilters ? { content_filter_results: results } : {}),
                  },
                ],
              }) +
              sse({
                id: 'chatcmpl-p',
                model: 'gpt-4o',
                choices: [{ index: 0, delta: {}, finish_reason: finish }],
                usage,
              }) +
              sse('[DONE]');
            return {
              adapter: 'azure-openai',
              path: AZURE_CHAT,
              requestBody: { stream: true },
              contentType: 'text/event-stream',
              body: text,
            };
          };
          const without = await replay(build(false));
          const withFilters = await replay(build(true));
          expect(without.response.safety).toBeUndefined();
          expect(otherFacts(withFilters)).toEqual(otherFacts(without));
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('OpenAI refusals', () => {
  const refusal = loadRecordedFixtures().find(
    (f) => f.file === 'openai/chat_nonstream_structured_refusal.json',
  );

  it('chat: the recorded structured-output refusal (message.refusal) is an output refusal', async () => {
    if (refusal === undefined) throw new Error('missing fixture');
    const call = await replay({
      adapter: 'openai',
      path: '/v1/chat/completions',
      requestBody: refusal.request.body ?? undefined,
      contentType: 'application/json',
      body: refusal.response.body,
    });
    expect(call.response.safety).toEqual({ block: { reason: 'refusal', stage: 'output' } });
    expect(call.response.finishReasons).toEqual(['stop']);
  });

  it('chat stream: delta.refusal text is a refusal; refusal:null is not', async () => {
    const chunk = (delta: unknown, finish: string | null = null) => ({
      id: 'chatcmpl-3',
      model: 'gpt-4o-2024-08-06',
      choices: [{ index: 0, delta, finish_reason: finish }],
    });
    const body = (refuse: boolean) =>
      sse(chunk({ role: 'assistant', content: '', refusal: null })) +
      sse(chunk(refuse ? { refusal: "I'm sorry" } : { content: 'Sure' })) +
      sse(chunk({}, 'stop')) +
      sse('[DONE]');
    const exchange = (refuse: boolean): Exchange => ({
      adapter: 'openai',
      path: '/v1/chat/completions',
      requestBody: { stream: true },
      contentType: 'text/event-stream',
      body: body(refuse),
    });
    expect((await replay(exchange(true))).response.safety?.block).toEqual({
      reason: 'refusal',
      stage: 'output',
    });
    expect((await replay(exchange(false))).response.safety).toBeUndefined();
  });

  it('Responses: a refusal part, a refusal delta, and incomplete for content_filter', async () => {
    const response = (extra: Record<string, unknown>) => ({
      id: 'resp_1',
      model: 'gpt-4o',
      status: 'completed',
      output: [{ type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'ok' }] }],
      usage: { input_tokens: 5, output_tokens: 1 },
      ...extra,
    });
    const json = (body: unknown): Exchange => ({
      adapter: 'openai',
      path: '/v1/responses',
      contentType: 'application/json',
      body: JSON.stringify(body),
    });
    const refused = await replay(
      json(
        response({
          output: [{ type: 'message', role: 'assistant', content: [{ type: 'refusal', refusal: 'No.' }] }],
        }),
      ),
    );
    expect(refused.response.safety?.block).toEqual({ reason: 'refusal', stage: 'output' });
    const filtered = await replay(
      json(response({ status: 'incomplete', incomplete_details: { reason: 'content_filter' } })),
    );
    expect(filtered.response.safety?.block).toEqual({ reason: 'content_filter', stage: 'output' });
    const plain = await replay(
      json(response({ status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } })),
    );
    expect(plain.response.safety).toBeUndefined();
    const streamed = await replay({
      adapter: 'openai',
      path: '/v1/responses',
      requestBody: { stream: true },
      contentType: 'text/event-stream',
      body:
        sse({ type: 'response.created', response: { id: 'resp_2', model: 'gpt-4o' } }, 'response.created') +
        sse({ type: 'response.refusal.delta', delta: 'No' }, 'response.refusal.delta') +
        sse({ type: 'response.completed', response: response({ id: 'resp_2' }) }, 'response.completed'),
    });
    expect(streamed.response.safety?.block).toEqual({ reason: 'refusal', stage: 'output' });
  });
});

describe('Anthropic refusals', () => {
  const message = (stop: string) => ({
    id: 'msg_1',
    type: 'message',
    role: 'assistant',
    model: 'claude-sonnet-4-5',
    content: [],
    stop_reason: stop,
    usage: { input_tokens: 10, output_tokens: 0 },
  });
  const exchange = (body: unknown, stream = false): Exchange => ({
    adapter: 'anthropic',
    path: '/v1/messages',
    requestBody: { stream },
    contentType: stream ? 'text/event-stream' : 'application/json',
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

  it('stop_reason refusal, whole or streamed, is an output refusal; end_turn is nothing', async () => {
    expect((await replay(exchange(message('refusal')))).response.safety).toEqual({
      block: { reason: 'refusal', stage: 'output' },
    });
    expect((await replay(exchange(message('end_turn')))).response.safety).toBeUndefined();
    const streamed =
      sse({ type: 'message_start', message: { ...message('refusal'), stop_reason: null } }, 'message_start') +
      sse(
        { type: 'message_delta', delta: { stop_reason: 'refusal' }, usage: { output_tokens: 3 } },
        'message_delta',
      ) +
      sse({ type: 'message_stop' }, 'message_stop');
    const call = await replay(exchange(streamed, true));
    expect(call.response.safety?.block).toEqual({ reason: 'refusal', stage: 'output' });
    expect(call.response.finishReasons).toEqual(['refusal']);
  });
});

describe('Gemini and Vertex AI blocks, numeric enums', () => {
  const gemini = (body: unknown, adapter = 'gemini', query = ''): Exchange => ({
    adapter,
    path:
      adapter === 'gemini'
        ? `/v1beta/models/gemini-2.5-flash:generateContent${query}`
        : `/v1/projects/p/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent${query}`,
    contentType: 'application/json',
    body: JSON.stringify(body),
  });
  const usageMetadata = { promptTokenCount: 8, candidatesTokenCount: 0, totalTokenCount: 8 };

  it('promptFeedback.blockReason is an input block, with the categories of the blocking ratings', async () => {
    const call = await replay(
      gemini({
        promptFeedback: {
          blockReason: 'SAFETY',
          safetyRatings: [
            { category: 'HARM_CATEGORY_HARASSMENT', probability: 'NEGLIGIBLE' },
            { category: 'HARM_CATEGORY_DANGEROUS_CONTENT', probability: 'HIGH', blocked: true },
          ],
        },
        usageMetadata,
      }),
    );
    expect(call.response.finishReasons).toEqual(['SAFETY']);
    expect(call.response.safety).toEqual({
      block: { reason: 'content_filter', stage: 'input' },
      categories: ['SAFETY', 'HARM_CATEGORY_DANGEROUS_CONTENT'],
    });
  });

  it('finishReason SAFETY (and PROHIBITED_CONTENT, SPII…) is an output block; STOP is not', async () => {
    const candidate = (finishReason: unknown, blocked = false) => ({
      candidates: [
        {
          index: 0,
          content: { role: 'model', parts: [] },
          finishReason,
          safetyRatings: [{ category: 'HARM_CATEGORY_HATE_SPEECH', probability: 'MEDIUM', blocked }],
        },
      ],
      usageMetadata,
      modelVersion: 'gemini-2.5-flash',
    });
    const safety = await replay(gemini(candidate('SAFETY', true)));
    expect(safety.response.safety).toEqual({
      block: { reason: 'content_filter', stage: 'output' },
      categories: ['SAFETY', 'HARM_CATEGORY_HATE_SPEECH'],
    });
    expect((await replay(gemini(candidate('PROHIBITED_CONTENT')))).response.safety?.categories).toEqual([
      'PROHIBITED_CONTENT',
    ]);
    expect((await replay(gemini(candidate('STOP')))).response.safety).toBeUndefined();
  });

  it('enum-encoding=int: numbers map to each API’s own names (they differ), unknown numbers pass as text', async () => {
    const candidate = (finishReason: number, category = 1) => ({
      candidates: [
        {
          index: 0,
          content: { role: 'model', parts: [{ text: 'x' }] },
          finishReason,
          safetyRatings: [{ category, probability: 4, blocked: true }],
        },
      ],
      usageMetadata: { promptTokenCount: 3, candidatesTokenCount: 1 },
    });
    const q = '?%24alt=json%3Benum-encoding%3Dint';
    const vertexStop = await replay(gemini(candidate(1), 'vertex-ai', q));
    expect(vertexStop.response.finishReasons).toEqual(['STOP']);
    expect(vertexStop.outcome).toBe('completed');
    const vertexBlocklist = await replay(gemini(candidate(6), 'vertex-ai', q));
    expect(vertexBlocklist.response.finishReasons).toEqual(['BLOCKLIST']);
    expect(vertexBlocklist.response.safety?.categories).toEqual(['BLOCKLIST', 'HARM_CATEGORY_HATE_SPEECH']);
    const geminiBlocklist = await replay(gemini(candidate(7, 8), 'gemini', q));
    expect(geminiBlocklist.response.finishReasons).toEqual(['BLOCKLIST']);
    expect(geminiBlocklist.response.safety?.categories).toEqual(['BLOCKLIST', 'HARM_CATEGORY_HATE_SPEECH']);
    expect((await replay(gemini(candidate(99), 'vertex-ai', q))).response.finishReasons).toEqual(['99']);
    const blockedPrompt = await replay(
      gemini({ promptFeedback: { blockReason: 6 }, usageMetadata }, 'vertex-ai', q),
    );
    expect(blockedPrompt.response.finishReasons).toEqual(['JAILBREAK']);
    expect(blockedPrompt.response.safety?.block).toEqual({ reason: 'content_filter', stage: 'input' });
  });

  it('property: a body without promptFeedback/safety finish has no safety facts and the same other facts', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          prompt: fc.nat({ max: 50000 }),
          output: fc.nat({ max: 50000 }),
          reason: fc.constantFrom('SAFETY', 'BLOCKLIST', 'SPII'),
        }),
        async ({ prompt, output, reason }) => {
          const usage = { promptTokenCount: prompt, candidatesTokenCount: output };
          const without = await replay(
            gemini({
              candidates: [{ index: 0, content: { parts: [] }, finishReason: 'STOP' }],
              usageMetadata: usage,
            }),
          );
          const blocked = await replay(
            gemini({
              candidates: [{ index: 0, content: { parts: [] }, finishReason: 'STOP' }],
              promptFeedback: { blockReason: reason },
              usageMetadata: usage,
            }),
          );
          expect(without.response.safety).toBeUndefined();
          expect(blocked.response.usage).toEqual(without.response.usage);
        },
      ),
      { numRuns: 25 },
    );
  });
});

describe('Bedrock guardrails', () => {
  /** docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_GuardrailAssessment.html */
  const assessment = {
    topicPolicy: { topics: [{ name: 'Investment advice', type: 'DENY', action: 'BLOCKED', detected: true }] },
    contentPolicy: {
      filters: [
        { type: 'VIOLENCE', confidence: 'HIGH', filterStrength: 'HIGH', action: 'BLOCKED', detected: true },
        {
          type: 'PROMPT_ATTACK',
          confidence: 'LOW',
          filterStrength: 'MEDIUM',
          action: 'NONE',
          detected: false,
        },
      ],
    },
    wordPolicy: {
      customWords: [{ match: 'SECRETWORD', action: 'BLOCKED', detected: true }],
      managedWordLists: [{ match: 'PROFANEWORD', type: 'PROFANITY', action: 'BLOCKED', detected: true }],
    },
    sensitiveInformationPolicy: {
      piiEntities: [{ match: 'jane@example.com', type: 'EMAIL', action: 'BLOCKED', detected: true }],
      regexes: [{ name: 'Employee ID', match: 'EMP-99881', regex: 'EMP-\\d+', action: 'BLOCKED' }],
    },
    invocationMetrics: { usage: { contentPolicyUnits: 1, topicPolicyUnits: 1, wordPolicyUnits: 1 } },
  };
  const converse = (body: unknown): Exchange => ({
    adapter: 'bedrock',
    path: '/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse',
    requestBody: {
      messages: [],
      guardrailConfig: { guardrailIdentifier: 'gr-abc123', guardrailVersion: '3', trace: 'enabled' },
    },
    contentType: 'application/json',
    body: JSON.stringify(body),
  });

  it('Converse: every policy type, category and stage; an input block; never a match or regex', async () => {
    const call = await replay(
      converse({
        output: { message: { role: 'assistant', content: [{ text: 'Sorry, I cannot answer that.' }] } },
        stopReason: 'guardrail_intervened',
        usage: { inputTokens: 0, outputTokens: 0 },
        trace: {
          guardrail: { inputAssessment: { 'gr-abc123': assessment }, actionReason: 'Guardrail blocked.' },
        },
      }),
    );
    const guardrail = call.response.safety?.guardrail;
    expect(guardrail?.activated).toBe(true);
    expect(guardrail?.ids).toEqual(['gr-abc123']);
    expect(guardrail?.version).toBe('3');
    expect(
      guardrail?.findings.map((f) => [f.policy, f.stage, f.kind ?? '', f.category, f.action ?? '']),
    ).toEqual([
      ['topics', 'input', '', 'Investment advice', 'BLOCKED'],
      ['content', 'input', '', 'VIOLENCE', 'BLOCKED'],
      ['content', 'input', '', 'PROMPT_ATTACK', 'NONE'],
      ['words', 'input', '', 'CUSTOM', 'BLOCKED'],
      ['words', 'input', '', 'PROFANITY', 'BLOCKED'],
      ['sensitive_info', 'input', 'pii', 'EMAIL', 'BLOCKED'],
      ['sensitive_info', 'input', 'regex', 'Employee ID', 'BLOCKED'],
    ]);
    expect(guardrail?.findings.find((f) => f.category === 'VIOLENCE')).toMatchObject({
      confidence: 'HIGH',
      filterStrength: 'HIGH',
    });
    expect(guardrail?.evaluated).toEqual([
      { policy: 'content', stage: 'input' },
      { policy: 'topics', stage: 'input' },
      { policy: 'words', stage: 'input' },
    ]);
    expect(call.response.safety?.block).toEqual({ reason: 'guardrail', stage: 'input' });
    const text = JSON.stringify(call.response);
    for (const secret of [
      'SECRETWORD',
      'PROFANEWORD',
      'jane@example.com',
      'EMP-99881',
      'EMP-\\\\d+',
      'Sorry',
    ]) {
      expect(text).not.toContain(secret);
    }
  });

  it('InvokeModel: amazon-bedrock-guardrailAction INTERVENED activates even without a trace; NONE does not', async () => {
    const invoke = (action: string): Exchange => ({
      adapter: 'bedrock',
      path: '/model/amazon.titan-text-express-v1/invoke',
      contentType: 'application/json',
      responseHeaders: { 'x-amzn-bedrock-input-token-count': '5', 'x-amzn-bedrock-output-token-count': '7' },
      body: JSON.stringify({
        inputTextTokenCount: 5,
        results: [{ tokenCount: 7, outputText: 'x', completionReason: 'FINISH' }],
        'amazon-bedrock-guardrailAction': action,
      }),
    });
    const intervened = await replay(invoke('INTERVENED'));
    expect(intervened.response.safety?.guardrail?.activated).toBe(true);
    expect(intervened.response.safety?.block).toBeUndefined();
    expect(intervened.response.usage.outputTokens).toBe(7);
    expect((await replay(invoke('NONE'))).response.safety?.guardrail?.activated).toBe(false);
  });

  it('ConverseStream: the trace in the metadata event, the stop reason in messageStop', async () => {
    const body = Buffer.concat([
      awsEvent('messageStart', { role: 'assistant' }),
      awsEvent('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'Blocked.' } }),
      awsEvent('messageStop', { stopReason: 'guardrail_intervened' }),
      awsEvent('metadata', {
        usage: { inputTokens: 3, outputTokens: 2 },
        metrics: { latencyMs: 5 },
        trace: { guardrail: { outputAssessments: { 'gr-abc123': [assessment] } } },
      }),
    ]);
    const call = await replay({
      adapter: 'bedrock',
      path: '/model/amazon.nova-lite-v1%3A0/converse-stream',
      requestBody: { messages: [] },
      contentType: 'application/vnd.amazon.eventstream',
      body,
    });
    expect(call.response.safety?.guardrail?.activated).toBe(true);
    expect(call.response.safety?.block).toEqual({ reason: 'guardrail', stage: 'output' });
    expect(call.response.safety?.guardrail?.findings.every((f) => f.stage === 'output')).toBe(true);
    expect(call.response.usage.inputTokens).toBe(3);
  });

  it('an enormous or malformed trace is capped and never fails the call', async () => {
    const entities = Array.from({ length: 5000 }, (_, i) => ({
      match: `m${i}`,
      type: `TYPE_${i}`,
      action: 'ANONYMIZED',
    }));
    const call = await replay(
      converse({
        stopReason: 'guardrail_intervened',
        usage: { inputTokens: 1, outputTokens: 1 },
        trace: {
          guardrail: {
            inputAssessment: {
              'gr-abc123': { sensitiveInformationPolicy: { piiEntities: entities }, contentPolicy: 'nope' },
            },
            outputAssessments: {
              'gr-abc123': 'not a list',
              other: [null, 5, { topicPolicy: { topics: [{ name: 42 }] } }],
            },
          },
        },
      }),
    );
    const guardrail = call.response.safety?.guardrail;
    expect(guardrail?.findings.length).toBe(MAX_FINDINGS);
    expect(call.response.safety?.truncated).toBe(true);
    expect(call.response.usage.inputTokens).toBe(1);
    expect(JSON.stringify(call.response)).not.toContain('"m1"');
  });

  it('property: a Converse body without trace/guardrail stop has no safety facts and the same other facts', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          input: fc.nat({ max: 50000 }),
          output: fc.nat({ max: 50000 }),
          action: fc.constantFrom('BLOCKED', 'ANONYMIZED', 'NONE'),
        }),
        async ({ input, output, action }) => {
          const body = (withTrace: boolean) => ({
            output: { message: { role: 'assistant', content: [{ text: 'x' }] } },
            stopReason: 'end_turn',
            usage: { inputTokens: input, outputTokens: output },
            ...(withTrace
              ? {
                  trace: {
                    guardrail: {
                      inputAssessment: { g: { contentPolicy: { filters: [{ type: 'HATE', action }] } } },
                    },
                  },
                }
              : {}),
          });
          const exchange = (withTrace: boolean): Exchange => ({
            adapter: 'bedrock',
            path: '/model/amazon.nova-lite-v1%3A0/converse',
            requestBody: { messages: [] },
            contentType: 'application/json',
            body: JSON.stringify(body(withTrace)),
          });
          const without = await replay(exchange(false));
          expect(without.response.safety).toBeUndefined();
          expect(otherFacts(await replay(exchange(true)))).toEqual(otherFacts(without));
        },
      ),
      { numRuns: 25 },
    );
  });
});

describe('usage variants', () => {
  it('Together: a top-level usage.cached_tokens is cache reads (input still includes them)', async () => {
    const body = (cached: boolean) =>
      JSON.stringify({
        id: 'tg-1',
        model: 'meta-llama/Llama-3.3-70B-Instruct-Turbo',
        choices: [{ index: 0, finish_reason: 'stop', message: { content: 'x' } }],
        usage: {
          prompt_tokens: 120,
          completion_tokens: 4,
          total_tokens: 124,
          ...(cached ? { cached_tokens: 96 } : {}),
        },
      });
    const exchange = (cached: boolean): Exchange => ({
      adapter: 'together',
      path: '/v1/chat/completions',
      contentType: 'application/json',
      body: body(cached),
    });
    const cached = await replay(exchange(true));
    expect(cached.response.usage).toMatchObject({
      inputTokens: 120,
      cacheReadInputTokens: 96,
      outputTokens: 4,
    });
    const plain = await replay(exchange(false));
    expect(plain.response.usage.cacheReadInputTokens).toBeUndefined();
    expect({ ...cached.response.usage, cacheReadInputTokens: undefined }).toEqual(plain.response.usage);
  });
});
