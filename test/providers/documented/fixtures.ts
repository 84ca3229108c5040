/**
 * DOCUMENTED EXAMPLES, NOT RECORDINGS (#17). Each exchange below is built by hand from the wire format and the
 * examples on the provider's documentation page cited above it (ids shortened, texts trimmed); nothing here was
 * captured from a live API. The recorded exchanges live in ../shared/fixtures/recorded and are never edited.
 *
 * Every fixture carries `doc` (the page it follows) and the facts llmtap must read from it (`expect`), so the
 * unit replays (variants.test.ts) and the through-the-proxy replays (test/telemetry/wire-variants-e2e.test.ts)
 * assert the same things.
 */
import { awsEvent, type Exchange, ndjson, sse } from '../helpers.ts';

export interface DocumentedFixture {
  readonly name: string;
  /** The documentation page the exchange follows. */
  readonly doc: string;
  readonly exchange: Exchange;
}

// --- Cohere v2 chat streaming ----------------------------------------------------------------------------
// docs.cohere.com/v2/docs/streaming (event list; `event:` names equal the `type`), docs.cohere.com/v2/reference/
// chat-stream (ChatMessageEndEventDelta: `error`, `finish_reason`, `usage`), docs.cohere.com/v2/docs/citations.

const COHERE_STREAM_DOC = 'https://docs.cohere.com/v2/docs/streaming';
const cohereEvent = (data: Record<string, unknown>): string => sse(data, String(data.type));

/** A RAG answer: text, one citation (start/end), a debug event, usage on message-end. */
export const cohereCitations: DocumentedFixture = {
  name: 'Cohere v2 stream with citations and a debug event',
  doc: COHERE_STREAM_DOC,
  exchange: {
    adapter: 'cohere',
    path: '/v2/chat',
    requestBody: {
      model: 'command-a-03-2025',
      stream: true,
      messages: [{ role: 'user', content: 'Where do the tallest penguins live?' }],
      documents: [{ id: 'doc:0', data: { text: 'Emperor penguins are the tallest.' } }],
    },
    contentType: 'text/event-stream',
    body:
      cohereEvent({
        id: 'd6b9b5a4-5a5e-4b4b-9b7e-3c7f0c9e2f11',
        type: 'message-start',
        delta: { message: { role: 'assistant', content: [], tool_plan: '', tool_calls: [], citations: [] } },
      }) +
      cohereEvent({
        type: 'content-start',
        index: 0,
        delta: { message: { content: { type: 'text', text: '' } } },
      }) +
      cohereEvent({
        type: 'content-delta',
        index: 0,
        delta: { message: { content: { text: 'The tallest penguins are emperor penguins.' } } },
      }) +
      cohereEvent({
        type: 'citation-start',
        index: 0,
        delta: {
          message: {
            citations: {
              start: 29,
              end: 45,
              text: 'emperor penguins',
              sources: [
                {
                  type: 'document',
                  id: 'doc:0',
                  document: { id: 'doc:0', text: 'Emperor penguins are the tallest.' },
                },
              ],
              type: 'TEXT_CONTENT',
            },
          },
        },
      }) +
      cohereEvent({ type: 'citation-end', index: 0 }) +
      cohereEvent({ type: 'content-end', index: 0 }) +
      cohereEvent({ type: 'debug', prompt: '<BOS_TOKEN>…' }) +
      cohereEvent({
        type: 'message-end',
        delta: {
          finish_reason: 'COMPLETE',
          usage: {
            billed_units: { input_tokens: 31, output_tokens: 9 },
            tokens: { input_tokens: 1230, output_tokens: 64 },
          },
        },
      }),
  },
};

/** A tool-use turn: plan deltas first (the first output), then one call in pieces, finish TOOL_CALL. */
export const cohereToolPlan: DocumentedFixture = {
  name: 'Cohere v2 stream with tool-plan-delta and tool-call-start/delta/end',
  doc: 'https://docs.cohere.com/v2/docs/streaming#tool-use-stream-events-for-tool-calling',
  exchange: {
    adapter: 'cohere',
    path: '/v2/chat',
    requestBody: { model: 'command-a-03-2025', stream: true, messages: [], tools: [] },
    contentType: 'text/event-stream',
    body:
      cohereEvent({
        id: '7b0e1a4c-0c1f-4f0e-8a39-5f3b6f1d2e40',
        type: 'message-start',
        delta: { message: { role: 'assistant', content: [], tool_plan: '', tool_calls: [], citations: [] } },
      }) +
      cohereEvent({ type: 'tool-plan-delta', delta: { message: { tool_plan: 'I will search' } } }) +
      cohereEvent({ type: 'tool-plan-delta', delta: { message: { tool_plan: ' the weather.' } } }) +
      cohereEvent({
        type: 'tool-call-start',
        index: 0,
        delta: {
          message: {
            tool_calls: {
              id: 'get_weather_1byjy32y4hvq',
              type: 'function',
              function: { name: 'get_weather', arguments: '' },
            },
          },
        },
      }) +
      cohereEvent({
        type: 'tool-call-delta',
        index: 0,
        delta: { message: { tool_calls: { function: { arguments: '{"location":' } } } },
      }) +
      cohereEvent({
        type: 'tool-call-delta',
        index: 0,
        delta: { message: { tool_calls: { function: { arguments: '"Toronto"}' } } } },
      }) +
      cohereEvent({ type: 'tool-call-end', index: 0 }) +
      cohereEvent({
        type: 'message-end',
        delta: {
          finish_reason: 'TOOL_CALL',
          usage: {
            billed_units: { input_tokens: 37, output_tokens: 28 },
            tokens: { input_tokens: 913, output_tokens: 83 },
          },
        },
      }),
  },
};

/** A generation that failed after HTTP 200: `message-end` with `delta.error` and finish reason ERROR. */
export const cohereStreamError: DocumentedFixture = {
  name: 'Cohere v2 stream error (message-end delta.error, finish_reason ERROR)',
  doc: 'https://docs.cohere.com/v2/reference/chat-stream',
  exchange: {
    adapter: 'cohere',
    path: '/v2/chat',
    requestBody: { model: 'command-a-03-2025', stream: true, messages: [] },
    contentType: 'text/event-stream',
    body:
      cohereEvent({
        id: 'f0b2c1de-8d7e-4a55-9a1e-6c1d2b3a4f50',
        type: 'message-start',
        delta: { message: { role: 'assistant', content: [] } },
      }) +
      cohereEvent({
        type: 'content-delta',
        index: 0,
        delta: { message: { content: { text: 'Once' } } },
      }) +
      cohereEvent({
        type: 'message-end',
        delta: { error: 'internal server error', finish_reason: 'ERROR' },
      }),
  },
};

// --- vLLM / SGLang continuous_usage_stats -----------------------------------------------------------------
// docs.vllm.ai/en/latest/serving/openai_compatible_server.html (`stream_options.continuous_usage_stats`: usage
// on every chunk, cumulative), SGLang's OpenAI-compatible server does the same.

export const vllmContinuousUsage: DocumentedFixture = {
  name: 'vLLM continuous_usage_stats (usage on every chunk, then the include_usage chunk)',
  doc: 'https://docs.vllm.ai/en/latest/serving/openai_compatible_server.html',
  exchange: {
    adapter: 'openai-compatible',
    path: '/v1/chat/completions',
    requestBody: {
      model: 'Qwen/Qwen2.5-1.5B-Instruct',
      stream: true,
      stream_options: { include_usage: true, continuous_usage_stats: true },
      messages: [{ role: 'user', content: 'Say hi' }],
    },
    contentType: 'text/event-stream',
    body:
      [
        { delta: { role: 'assistant', content: '' }, finish: null, completion: 0 },
        { delta: { content: 'Hi' }, finish: null, completion: 1 },
        { delta: { content: ' there' }, finish: null, completion: 2 },
        { delta: { content: '!' }, finish: 'stop', completion: 3 },
      ]
        .map(({ delta, finish, completion }) =>
          sse({
            id: 'chatcmpl-4f1c0b7e',
            object: 'chat.completion.chunk',
            created: 1733140000,
            model: 'Qwen/Qwen2.5-1.5B-Instruct',
            choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
            usage: { prompt_tokens: 21, total_tokens: 21 + completion, completion_tokens: completion },
          }),
        )
        .join('') +
      sse({
        id: 'chatcmpl-4f1c0b7e',
        object: 'chat.completion.chunk',
        created: 1733140000,
        model: 'Qwen/Qwen2.5-1.5B-Instruct',
        choices: [],
        usage: { prompt_tokens: 21, total_tokens: 24, completion_tokens: 3 },
      }) +
      'data: [DONE]\n\n',
  },
};

// --- xAI -------------------------------------------------------------------------------------------------
// docs.x.ai/docs/api-reference#chat-completions (response example: usage with prompt_tokens_details,
// completion_tokens_details.reasoning_tokens and num_sources_used) and docs.x.ai/docs/key-information/
// consumption-and-rate-limits: "reasoning token consumption will be counted separately from completion_tokens,
// but will be counted in the total_tokens" (the example: 32 + 9 + 94 = 135).

const XAI_DOC = 'https://docs.x.ai/docs/key-information/consumption-and-rate-limits';

export const xaiReasoning: DocumentedFixture = {
  name: 'xAI reasoning model: reasoning tokens beside completion_tokens, inside total_tokens',
  doc: XAI_DOC,
  exchange: {
    adapter: 'xai',
    path: '/v1/chat/completions',
    requestBody: { model: 'grok-4', messages: [{ role: 'user', content: 'What is 101*3?' }] },
    contentType: 'application/json',
    body: JSON.stringify({
      id: 'a3d1008e-4544-40d4-d075-11527e794e4a',
      object: 'chat.completion',
      created: 1752854522,
      model: 'grok-4-0709',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: '101 multiplied by 3 is 303.', refusal: null },
          finish_reason: 'stop',
        },
      ],
      usage: {
        prompt_tokens: 32,
        completion_tokens: 9,
        total_tokens: 135,
        prompt_tokens_details: { text_tokens: 32, audio_tokens: 0, image_tokens: 0, cached_tokens: 6 },
        completion_tokens_details: {
          reasoning_tokens: 94,
          audio_tokens: 0,
          accepted_prediction_tokens: 0,
          rejected_prediction_tokens: 0,
        },
        num_sources_used: 0,
      },
      system_fingerprint: 'fp_3a7881249c',
    }),
  },
};

/** A streamed live-search answer: usage (with `num_sources_used`) on the last chunk before [DONE]. */
export const xaiStreamLiveSearch: DocumentedFixture = {
  name: 'xAI stream with live search sources: usage chunk with num_sources_used',
  doc: 'https://docs.x.ai/docs/guides/live-search',
  exchange: {
    adapter: 'xai',
    path: '/v1/chat/completions',
    requestBody: {
      model: 'grok-3-mini',
      stream: true,
      stream_options: { include_usage: true },
      search_parameters: { mode: 'auto' },
      messages: [],
    },
    contentType: 'text/event-stream',
    body:
      sse({
        id: 'c1f0a4b2',
        object: 'chat.completion.chunk',
        created: 1752854600,
        model: 'grok-3-mini',
        choices: [{ index: 0, delta: { role: 'assistant', content: 'Sunny' } }],
        system_fingerprint: 'fp_6c6f21fa33',
      }) +
      sse({
        id: 'c1f0a4b2',
        object: 'chat.completion.chunk',
        created: 1752854600,
        model: 'grok-3-mini',
        choices: [{ index: 0, delta: {}, finish_reason: 'stop' }],
        system_fingerprint: 'fp_6c6f21fa33',
      }) +
      sse({
        id: 'c1f0a4b2',
        object: 'chat.completion.chunk',
        created: 1752854600,
        model: 'grok-3-mini',
        choices: [],
        usage: {
          prompt_tokens: 1410,
          completion_tokens: 2,
          total_tokens: 1729,
          prompt_tokens_details: { text_tokens: 1410, audio_tokens: 0, image_tokens: 0, cached_tokens: 0 },
          completion_tokens_details: { reasoning_tokens: 317, audio_tokens: 0 },
          num_sources_used: 5,
        },
        system_fingerprint: 'fp_6c6f21fa33',
      }) +
      'data: [DONE]\n\n',
  },
};

// --- Ollama ----------------------------------------------------------------------------------------------
// github.com/ollama/ollama/blob/main/docs/api.md ("Generate a completion", "Generate a chat completion":
// NDJSON lines, the final `done: true` line with done_reason, prompt_eval_count and eval_count) and
// docs.ollama.com/api/openai-compatibility (`/v1/chat/completions` honours `stream_options.include_usage`).

const OLLAMA_API_DOC = 'https://github.com/ollama/ollama/blob/main/docs/api.md';

export const ollamaGenerateLength: DocumentedFixture = {
  name: 'Ollama /api/generate NDJSON stream cut by num_predict (done_reason length)',
  doc: OLLAMA_API_DOC,
  exchange: {
    adapter: 'ollama',
    path: '/api/generate',
    requestBody: { model: 'llama3.2', prompt: 'Why is the sky blue?', options: { num_predict: 2 } },
    contentType: 'application/x-ndjson',
    body:
      ndjson({
        model: 'llama3.2',
        created_at: '2023-08-04T08:52:19.385406455-07:00',
        response: 'The',
        done: false,
      }) +
      ndjson({
        model: 'llama3.2',
        created_at: '2023-08-04T08:52:19.405406455-07:00',
        response: ' sky',
        done: false,
      }) +
      ndjson({
        model: 'llama3.2',
        created_at: '2023-08-04T19:22:45.499127Z',
        response: '',
        done: true,
        done_reason: 'length',
        context: [1, 2, 3],
        total_duration: 10706818083,
        load_duration: 6338219291,
        prompt_eval_count: 26,
        prompt_eval_duration: 130079000,
        eval_count: 2,
        eval_duration: 4232710000,
      }),
  },
};

export const ollamaChatNonStream: DocumentedFixture = {
  name: 'Ollama /api/chat with stream:false (one JSON body)',
  doc: OLLAMA_API_DOC,
  exchange: {
    adapter: 'ollama',
    path: '/api/chat',
    requestBody: {
      model: 'llama3.2',
      stream: false,
      messages: [{ role: 'user', content: 'why is the sky blue?' }],
    },
    contentType: 'application/json; charset=utf-8',
    body: JSON.stringify({
      model: 'llama3.2',
      created_at: '2023-12-12T14:13:43.416799Z',
      message: { role: 'assistant', content: 'Hello! How are you today?' },
      done: true,
      done_reason: 'stop',
      total_duration: 5191566416,
      load_duration: 2154458,
      prompt_eval_count: 26,
      prompt_eval_duration: 383809000,
      eval_count: 298,
      eval_duration: 4799921000,
    }),
  },
};

export const ollamaOpenAiCompatible: DocumentedFixture = {
  name: 'Ollama OpenAI-compatible /v1/chat/completions stream with include_usage',
  doc: 'https://docs.ollama.com/api/openai-compatibility',
  exchange: {
    adapter: 'ollama',
    path: '/v1/chat/completions',
    requestBody: { model: 'llama3.2', stream: true, stream_options: { include_usage: true }, messages: [] },
    contentType: 'text/event-stream',
    body:
      sse({
        id: 'chatcmpl-417',
        object: 'chat.completion.chunk',
        created: 1733140100,
        model: 'llama3.2',
        system_fingerprint: 'fp_ollama',
        choices: [{ index: 0, delta: { role: 'assistant', content: 'Hello' }, finish_reason: null }],
      }) +
      sse({
        id: 'chatcmpl-417',
        object: 'chat.completion.chunk',
        created: 1733140100,
        model: 'llama3.2',
        system_fingerprint: 'fp_ollama',
        choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: 'stop' }],
      }) +
      sse({
        id: 'chatcmpl-417',
        object: 'chat.completion.chunk',
        created: 1733140100,
        model: 'llama3.2',
        system_fingerprint: 'fp_ollama',
        choices: [],
        usage: { prompt_tokens: 11, completion_tokens: 2, total_tokens: 13 },
      }) +
      'data: [DONE]\n\n',
  },
};

// --- Anthropic pause_turn ------------------------------------------------------------------------------
// docs.claude.com/en/api/handling-stop-reasons (`pause_turn`: a long server-tool turn paused; send the
// response back to continue) and docs.claude.com/en/docs/build-with-claude/streaming (event sequence).

export const anthropicPauseTurnStream: DocumentedFixture = {
  name: 'Anthropic stream ending in stop_reason pause_turn',
  doc: 'https://docs.claude.com/en/api/handling-stop-reasons',
  exchange: {
    adapter: 'anthropic',
    path: '/v1/messages',
    requestBody: {
      model: 'claude-sonnet-4-5',
      stream: true,
      max_tokens: 1024,
      tools: [{ type: 'web_search_20250305', name: 'web_search' }],
      messages: [],
    },
    contentType: 'text/event-stream',
    body:
      sse(
        {
          type: 'message_start',
          message: {
            id: 'msg_01PauseTurnStream',
            type: 'message',
            role: 'assistant',
            model: 'claude-sonnet-4-5-20250929',
            content: [],
            stop_reason: null,
            stop_sequence: null,
            usage: { input_tokens: 2679, output_tokens: 3 },
          },
        },
        'message_start',
      ) +
      sse(
        {
          type: 'content_block_start',
          index: 0,
          content_block: { type: 'server_tool_use', id: 'srvtoolu_01', name: 'web_search', input: {} },
        },
        'content_block_start',
      ) +
      sse(
        {
          type: 'content_block_delta',
          index: 0,
          delta: { type: 'input_json_delta', partial_json: '{"query": "weather NYC today"}' },
        },
        'content_block_delta',
      ) +
      sse({ type: 'content_block_stop', index: 0 }, 'content_block_stop') +
      sse(
        {
          type: 'message_delta',
          delta: { stop_reason: 'pause_turn', stop_sequence: null },
          usage: { output_tokens: 41, server_tool_use: { web_search_requests: 1 } },
        },
        'message_delta',
      ) +
      sse({ type: 'message_stop' }, 'message_stop'),
  },
};

// --- Gemini finishReason SAFETY ------------------------------------------------------------------------
// ai.google.dev/api/generate-content#FinishReason (SAFETY: "The response candidate content was flagged for
// safety reasons") and ai.google.dev/gemini-api/docs/text-generation#streaming (without `alt=sse` the stream is
// one JSON array).

export const geminiSafetyJsonArray: DocumentedFixture = {
  name: 'Gemini finishReason SAFETY in a JSON-array stream (no alt=sse)',
  doc: 'https://ai.google.dev/api/generate-content#FinishReason',
  exchange: {
    adapter: 'gemini',
    path: '/v1beta/models/gemini-2.5-flash:streamGenerateContent',
    requestBody: { contents: [{ role: 'user', parts: [{ text: 'x' }] }] },
    contentType: 'application/json; charset=UTF-8',
    body: `[${JSON.stringify({
      candidates: [{ content: { role: 'model', parts: [{ text: 'Here' }] }, index: 0 }],
      usageMetadata: { promptTokenCount: 9, totalTokenCount: 9 },
      modelVersion: 'gemini-2.5-flash',
      responseId: 'gQ3uaJ2tL9mqz7IP8rK-mA4',
    })}\r\n,${JSON.stringify({
      candidates: [
        {
          content: { role: 'model', parts: [{ text: '' }] },
          finishReason: 'SAFETY',
          index: 0,
          safetyRatings: [
            { category: 'HARM_CATEGORY_SEXUALLY_EXPLICIT', probability: 'NEGLIGIBLE' },
            { category: 'HARM_CATEGORY_HATE_SPEECH', probability: 'NEGLIGIBLE' },
            { category: 'HARM_CATEGORY_HARASSMENT', probability: 'NEGLIGIBLE' },
            { category: 'HARM_CATEGORY_DANGEROUS_CONTENT', probability: 'HIGH', blocked: true },
          ],
        },
      ],
      usageMetadata: { promptTokenCount: 9, candidatesTokenCount: 1, totalTokenCount: 10 },
      modelVersion: 'gemini-2.5-flash',
      responseId: 'gQ3uaJ2tL9mqz7IP8rK-mA4',
    })}]`,
  },
};

// --- Mid-stream errors -----------------------------------------------------------------------------------

/** platform.openai.com/docs/api-reference/responses-streaming/error: `{"type":"error","code",…}`. */
export const openaiResponsesFailed: DocumentedFixture = {
  name: 'OpenAI Responses stream ending in response.failed (error.code server_error)',
  doc: 'https://platform.openai.com/docs/api-reference/responses-streaming/response/failed',
  exchange: {
    adapter: 'openai',
    path: '/v1/responses',
    requestBody: { model: 'gpt-4.1', stream: true, input: 'x' },
    contentType: 'text/event-stream',
    body:
      sse(
        {
          type: 'response.created',
          sequence_number: 0,
          response: { id: 'resp_123', object: 'response', model: 'gpt-4.1', status: 'in_progress' },
        },
        'response.created',
      ) +
      sse(
        {
          type: 'response.failed',
          sequence_number: 1,
          response: {
            id: 'resp_123',
            object: 'response',
            model: 'gpt-4.1',
            status: 'failed',
            error: { code: 'server_error', message: 'The model failed to generate a response.' },
            usage: null,
          },
        },
        'response.failed',
      ),
  },
};

/**
 * docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStream.html: the stream's exception
 * members (`modelStreamErrorException` with originalStatusCode/originalMessage, `throttlingException`,
 * `internalServerException`, `serviceUnavailableException`, `validationException`) arrive as eventstream
 * messages with `:message-type: exception`.
 */
export const bedrockModelStreamError: DocumentedFixture = {
  name: 'Bedrock ConverseStream modelStreamErrorException frame',
  doc: 'https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStream.html',
  exchange: {
    adapter: 'bedrock',
    host: 'bedrock-runtime.us-east-1.amazonaws.com',
    path: '/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse-stream',
    requestBody: { messages: [{ role: 'user', content: [{ text: 'Hi' }] }] },
    contentType: 'application/vnd.amazon.eventstream',
    body: Buffer.concat([
      awsEvent('messageStart', { role: 'assistant', p: 'abcd' }),
      awsEvent('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'Hel' }, p: 'abcdef' }),
      awsEvent(
        'modelStreamErrorException',
        {
          message: 'Model stream error',
          originalStatusCode: 424,
          originalMessage: 'The model produced an invalid response.',
        },
        'exception',
      ),
    ]),
  },
};

/** docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_InvokeModelWithResponseStream.html. */
export const bedrockInvokeStreamThrottled: DocumentedFixture = {
  name: 'Bedrock InvokeModelWithResponseStream throttlingException after a chunk',
  doc: 'https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_InvokeModelWithResponseStream.html',
  exchange: {
    adapter: 'bedrock',
    host: 'bedrock-runtime.us-east-1.amazonaws.com',
    path: '/model/anthropic.claude-3-haiku-20240307-v1%3A0/invoke-with-response-stream',
    requestBody: { anthropic_version: 'bedrock-2023-05-31', max_tokens: 64, messages: [] },
    contentType: 'application/vnd.amazon.eventstream',
    body: Buffer.concat([
      awsEvent('chunk', {
        bytes: Buffer.from(
          JSON.stringify({
            type: 'message_start',
            message: {
              id: 'msg_bdrk_01',
              type: 'message',
              role: 'assistant',
              model: 'claude-3-haiku-20240307',
              content: [],
              usage: { input_tokens: 12, output_tokens: 1 },
            },
          }),
        ).toString('base64'),
      }),
      awsEvent(
        'throttlingException',
        { message: 'Too many tokens, please wait before trying again.' },
        'exception',
      ),
    ]),
  },
};

// --- 429/5xx error bodies ------------------------------------------------------------------------------

export interface DocumentedHttpError extends DocumentedFixture {
  /** The `error.type` llmtap must record: the provider's own code, else the HTTP status. */
  readonly type: string;
}

const httpError = (
  name: string,
  doc: string,
  adapter: string,
  path: string,
  status: number,
  body: unknown,
  type: string,
  headers?: Record<string, string>,
): DocumentedHttpError => ({
  name,
  doc,
  type,
  exchange: {
    adapter,
    path,
    requestBody: { model: 'm', messages: [] },
    status,
    contentType: 'application/json',
    ...(headers === undefined ? {} : { responseHeaders: headers }),
    body: JSON.stringify(body),
  },
});

export const httpErrors: readonly DocumentedHttpError[] = [
  httpError(
    'OpenAI 500 server_error (code null: the type names it)',
    'https://platform.openai.com/docs/guides/error-codes#api-errors',
    'openai',
    '/v1/chat/completions',
    500,
    {
      error: {
        message: 'The server had an error while processing your request. Sorry about that!',
        type: 'server_error',
        param: null,
        code: null,
      },
    },
    'server_error',
  ),
  httpError(
    'OpenAI 503 (engine overloaded)',
    'https://platform.openai.com/docs/guides/error-codes#api-errors',
    'openai',
    '/v1/responses',
    503,
    {
      error: {
        message: 'The engine is currently overloaded, please try again later',
        type: 'server_error',
        param: null,
        code: 'engine_overloaded',
      },
    },
    'engine_overloaded',
  ),
  httpError(
    'Anthropic 500 api_error',
    'https://docs.claude.com/en/api/errors',
    'anthropic',
    '/v1/messages',
    500,
    {
      type: 'error',
      error: { type: 'api_error', message: 'Internal server error' },
      request_id: 'req_011CSHoEeqs5C35K2UUqR7Fy',
    },
    'api_error',
  ),
  httpError(
    'Gemini 500 INTERNAL',
    'https://ai.google.dev/gemini-api/docs/troubleshooting#error-codes',
    'gemini',
    '/v1beta/models/gemini-2.5-flash:streamGenerateContent',
    500,
    { error: { code: 500, message: 'An internal error has occurred.', status: 'INTERNAL' } },
    'INTERNAL',
  ),
  httpError(
    'Bedrock 503 ServiceUnavailableException (x-amzn-errortype)',
    'https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html#API_runtime_Converse_Errors',
    'bedrock',
    '/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse-stream',
    503,
    { message: 'Bedrock is unable to process your request.' },
    'ServiceUnavailableException',
    {
      'x-amzn-errortype': 'ServiceUnavailableException:http://internal.amazon.com/coral/com.amazon.bedrock/',
    },
  ),
  httpError(
    'Bedrock 429 ModelNotReadyException (JSON __type, no header)',
    'https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_InvokeModel.html#API_runtime_InvokeModel_Errors',
    'bedrock',
    '/model/meta.llama3-8b-instruct-v1%3A0/invoke',
    429,
    { __type: 'com.amazon.bedrock.runtime#ModelNotReadyException', message: 'Model is not ready.' },
    'ModelNotReadyException',
  ),
  httpError(
    'Azure OpenAI 429 (its code is the string "429")',
    'https://learn.microsoft.com/en-us/azure/ai-foundry/openai/how-to/quota',
    'azure-openai',
    '/openai/deployments/gpt-4o/chat/completions',
    429,
    {
      error: {
        code: '429',
        message:
          'Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-21 have exceeded token rate limit of your current OpenAI S0 pricing tier. Please retry after 6 seconds.',
      },
    },
    '429',
  ),
  httpError(
    'Groq 429 rate_limit_exceeded',
    'https://console.groq.com/docs/errors',
    'groq',
    '/openai/v1/chat/completions',
    429,
    {
      error: {
        message: 'Rate limit reached for model `llama-3.3-70b-versatile` on tokens per minute (TPM).',
        type: 'tokens',
        code: 'rate_limit_exceeded',
      },
    },
    'rate_limit_exceeded',
  ),
  // Cohere's error bodies carry only a message (docs.cohere.com/reference/errors): the status is the type.
  httpError(
    'Cohere 429 (message only: the status is the type)',
    'https://docs.cohere.com/reference/errors',
    'cohere',
    '/v2/chat',
    429,
    {
      id: '2a2a9bd4-c0a2-4e3c-9cf5-4f5b2b6c1e10',
      message: 'You are using a Trial key, which is limited to 20 API calls / minute.',
    },
    '429',
  ),
  httpError(
    'Cohere 500',
    'https://docs.cohere.com/reference/errors',
    'cohere',
    '/v2/chat',
    500,
    { message: 'internal server error, this has been reported to our developers' },
    '500',
  ),
  // docs.ollama.com/api/errors: `{"error": "<sentence>"}` with the HTTP status.
  httpError(
    'Ollama 404 (error sentence: the status is the type)',
    'https://docs.ollama.com/api/errors',
    'ollama',
    '/api/chat',
    404,
    { error: 'model "llama3.3" not found, try pulling it first' },
    '404',
  ),
];

// --- Used by the through-the-proxy replays (test/telemetry/wire-variants-e2e.test.ts) ---------------------

/** platform.openai.com/docs/guides/error-codes#api-errors: 429 "Rate limit reached for requests". */
export const openaiRateLimited: DocumentedFixture = {
  name: 'OpenAI 429 rate_limit_exceeded',
  doc: 'https://platform.openai.com/docs/guides/error-codes#api-errors',
  exchange: {
    adapter: 'openai',
    path: '/v1/chat/completions',
    requestBody: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] },
    status: 429,
    contentType: 'application/json; charset=utf-8',
    responseHeaders: { 'x-ratelimit-remaining-requests': '0', 'retry-after': '20' },
    body: JSON.stringify({
      error: {
        message:
          'Rate limit reached for gpt-4o-mini in organization org-x on requests per min (RPM): Limit 3.',
        type: 'requests',
        param: null,
        code: 'rate_limit_exceeded',
      },
    }),
  },
};

/** docs.claude.com/en/docs/build-with-claude/streaming#error-events: `event: error` with overloaded_error. */
export const anthropicOverloadedMidStream: DocumentedFixture = {
  name: 'Anthropic event: error (overloaded_error) after message_start',
  doc: 'https://docs.claude.com/en/docs/build-with-claude/streaming#error-events',
  exchange: {
    adapter: 'anthropic',
    path: '/v1/messages',
    requestBody: { model: 'claude-sonnet-4-5', stream: true, max_tokens: 64, messages: [] },
    contentType: 'text/event-stream; charset=utf-8',
    body:
      sse(
        {
          type: 'message_start',
          message: {
            id: 'msg_01Overloaded',
            type: 'message',
            role: 'assistant',
            model: 'claude-sonnet-4-5-20250929',
            content: [],
            stop_reason: null,
            stop_sequence: null,
            usage: { input_tokens: 25, output_tokens: 1 },
          },
        },
        'message_start',
      ) +
      sse(
        { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
        'content_block_start',
      ) +
      sse(
        { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hello' } },
        'content_block_delta',
      ) +
      sse({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }, 'error'),
  },
};

/** ai.google.dev/gemini-api/docs/troubleshooting#error-codes: 429 RESOURCE_EXHAUSTED. */
export const geminiResourceExhausted: DocumentedFixture = {
  name: 'Gemini 429 RESOURCE_EXHAUSTED',
  doc: 'https://ai.google.dev/gemini-api/docs/troubleshooting#error-codes',
  exchange: {
    adapter: 'gemini',
    path: '/v1beta/models/gemini-2.5-flash:generateContent',
    requestBody: { contents: [{ role: 'user', parts: [{ text: 'x' }] }] },
    status: 429,
    contentType: 'application/json; charset=UTF-8',
    body: JSON.stringify({
      error: {
        code: 429,
        message: 'You exceeded your current quota, please check your plan and billing details.',
        status: 'RESOURCE_EXHAUSTED',
      },
    }),
  },
};
