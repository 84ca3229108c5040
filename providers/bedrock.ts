/**
 * AWS Bedrock Runtime: Converse (JSON), ConverseStream (eventstream; stop reason in `messageStop`, usage in
 * the final `metadata` event), InvokeModel (model-native JSON, usage in headers) and
 * InvokeModelWithResponseStream (eventstream `chunk` events carrying `{"bytes": base64(model JSON)}`).
 * Bedrock names no completion id: the response id is the `x-amzn-requestid` header. Converse responses
 * never name the model; the request model is the URL's model id.
 */
import type {
  Frame,
  Framing,
  OutputSignal,
  ParsedRequest,
  ParsedResponse,
  ProviderAdapter,
  ResponseHead,
  ResponseParser,
} from '../src/adapter.ts';
import { defineAdapter, parseJsonObject } from '../src/adapter.ts';
import type { RequestFacts } from '../src/record.ts';
import { anthropicInput, anthropicParts } from './anthropic.ts';
import { AnthropicEvents } from './anthropic-stream.ts';
import { converseInput, converseParams, converseParts, readConverseUsage } from './bedrock-converse.ts';
import { readBedrockStops, readConverseTrace, readInvokeGuardrail } from './bedrock-guardrail.ts';
import {
  chunkBytes,
  decodeBase64Utf8,
  invokeFinishReason,
  invokeParams,
  readInvocationMetrics,
  readUsageHeaders,
} from './bedrock-invoke.ts';
import { ConverseMessage, ConverseRequest, InvokeBody } from './bedrock-schemas.ts';
import { API, apiOf, decodeSegment, nonEmptyMember, obj, str, trimPath, type WithApi } from './common.ts';
import { type ContentBudget, captured, type Message, responseBudget, StreamedText } from './content.ts';
import { read } from './schema.ts';
import { awsErrorType, codeLike, ResponseState } from './state.ts';

type BedrockApi = 'converse' | 'converse-stream' | 'invoke' | 'invoke-with-response-stream';

const PATH = /\/model\/([^/]+)\/(converse|converse-stream|invoke|invoke-with-response-stream)$/;

const route = (path: string): [string, BedrockApi] | undefined => {
  const match = PATH.exec(trimPath(path));
  if (match?.[1] === undefined || match[2] === undefined) return undefined;
  return [decodeSegment(match[1]), match[2] as BedrockApi];
};

/** Chunk payload members that carry generated text or tool input, across the model families. */
const OUTPUT = nonEmptyMember(['text', 'outputText', 'generation', 'completion', 'partial_json', 'input']);

/**
 * A decoded InvokeModel stream chunk worth parsing: a non-null finish reason in any family's spelling
 * (Llama sends `"stop_reason":null` on every chunk), or Bedrock's metrics on the last one.
 */
const INVOKE_FACTS =
  /"(?:stop_reason|stopReason|completionReason|finish_reason|finishReason)"\s*:\s*[^\sn]|invocationMetrics|"metadata"|amazon-bedrock-(?:guardrailAction|trace)/;

/** Members Bedrock adds to a model-native body or chunk when a guardrail ran. */
/**
 * A stream exception's `error.type`: the eventstream names the member in camelCase (`throttlingException`), the
 * API reference and the HTTP `x-amzn-errortype` in PascalCase (`ThrottlingException`); one condition gets one
 * type whether it came before or after the 200.
 */
const exceptionType = (name: string): string | undefined => {
  const code = codeLike(name);
  return code === undefined ? undefined : code.charAt(0).toUpperCase() + code.slice(1);
};

const GUARDRAIL_MEMBERS = /amazon-bedrock-(?:guardrailAction|trace)/;

/** The Converse request's `guardrailConfig`, carried from `parseRequest` to the parser. */
const GUARDRAIL: unique symbol = Symbol('llmtap.bedrock.guardrail');

interface GuardrailConfig {
  readonly id: string | undefined;
  readonly version: string | undefined;
}

class BedrockParser implements ResponseParser {
  readonly #state: ResponseState;
  readonly #api: BedrockApi;
  readonly #head: ResponseHead;
  readonly #budget: ContentBudget | undefined;
  readonly #text: StreamedText | undefined;
  readonly #anthropic: AnthropicEvents;
  #output: Message[] | undefined;

  constructor(
    api: BedrockApi,
    head: ResponseHead,
    budget: ContentBudget | undefined,
    guardrail: GuardrailConfig | undefined,
  ) {
    this.#state = new ResponseState(head);
    if (guardrail !== undefined) this.#state.safety().guardrail(false, guardrail.id, guardrail.version);
    this.#api = api;
    this.#head = head;
    this.#budget = budget;
    const streaming = api === 'converse-stream' || api === 'invoke-with-response-stream';
    this.#text = budget === undefined || !streaming ? undefined : new StreamedText(budget);
    this.#anthropic = new AnthropicEvents(this.#state, this.#text);
    this.#state.responseId = str(head.headers['x-amzn-requestid']);
  }

  push(frame: Frame, signal: OutputSignal): void {
    const state = this.#state;
    if (state.httpError) {
      state.terminal = true;
      state.httpErrorBody(parseJsonObject(frame.text), awsErrorType(this.#head.headers));
      return;
    }
    if (frame.messageType === 'exception' || frame.messageType === 'error') {
      state.streamError(exceptionType(frame.event ?? frame.messageType));
      return;
    }
    if (this.#api === 'converse-stream') this.#converseEvent(frame, signal);
    else if (this.#api === 'invoke-with-response-stream') this.#invokeChunk(frame, signal);
    else this.#body(frame.text, signal);
  }

  #converseEvent(frame: Frame, signal: OutputSignal): void {
    const state = this.#state;
    const type = frame.event;
    if (type === 'contentBlockDelta') {
      signal.output();
      if (this.#text !== undefined) {
        const event = parseJsonObject(frame.text);
        const delta = read(ConverseMessage, event)?.delta;
        if (typeof delta?.text === 'string') this.#text.add(0, delta.text);
        // A tool call's input JSON arrives in pieces, under the block index its contentBlockStart named.
        const toolUse = obj(obj(event?.delta)?.toolUse);
        const block = event?.contentBlockIndex;
        if (toolUse !== undefined && typeof block === 'number') {
          this.#text.toolCall(0, block, { arguments: toolUse.input });
        }
      }
      return;
    }
    if (type === 'contentBlockStart') {
      if (this.#text !== undefined) {
        const event = parseJsonObject(frame.text);
        const toolUse = obj(obj(event?.start)?.toolUse);
        const block = event?.contentBlockIndex;
        if (toolUse !== undefined && typeof block === 'number') {
          this.#text.toolCall(0, block, { id: toolUse.toolUseId, name: toolUse.name });
        }
      }
      return;
    }
    if (type !== 'messageStop' && type !== 'metadata') return;
    const raw = parseJsonObject(frame.text);
    const event = read(ConverseMessage, raw);
    if (event === undefined) return;
    if (type === 'messageStop') {
      state.finish.set(0, event.stopReason);
      return;
    }
    if (event.usage !== undefined) readConverseUsage(state, event.usage);
    if (raw?.trace !== undefined) readConverseTrace(state, raw.trace);
    state.terminal = true;
  }

  #invokeChunk(frame: Frame, signal: OutputSignal): void {
    const state = this.#state;
    const bytes = chunkBytes(frame.text) ?? str(parseJsonObject(frame.text)?.bytes);
    const text = bytes === undefined ? undefined : decodeBase64Utf8(bytes);
    if (text === undefined) return;
    const anthropicEvent = text.startsWith('{"type":"');
    if (anthropicEvent) {
      // Claude 3+ on Bedrock streams the Anthropic Messages events; the last one adds Bedrock's metrics.
      this.#anthropic.push(undefined, text, signal);
      if (!text.includes('invocationMetrics') && !GUARDRAIL_MEMBERS.test(text)) return;
    } else {
      if (OUTPUT.test(text)) signal.output();
      if (this.#text === undefined && !INVOKE_FACTS.test(text)) return;
    }
    const raw = parseJsonObject(text);
    const chunk = read(InvokeBody, raw);
    if (chunk === undefined) return;
    if (raw !== undefined && GUARDRAIL_MEMBERS.test(text)) readInvokeGuardrail(state, raw);
    if (!anthropicEvent) {
      state.finish.set(0, invokeFinishReason(chunk));
      state.responseModel ??= chunk.model;
      if (this.#text !== undefined) {
        const piece =
          chunk.outputText ?? chunk.generation ?? chunk.completion ?? chunk.contentBlockDelta?.delta?.text;
        if (typeof piece === 'string') this.#text.add(0, piece);
      }
    }
    const metrics = chunk['amazon-bedrock-invocationMetrics'];
    if (metrics !== undefined) {
      readInvocationMetrics(state, metrics);
      state.terminal = true;
    }
  }

  #body(text: string, signal: OutputSignal): void {
    const state = this.#state;
    const raw = parseJsonObject(text);
    if (raw === undefined) return;
    state.terminal = true;
    signal.output();
    if (this.#api === 'converse') {
      const body = read(ConverseMessage, raw) ?? {};
      state.finish.set(0, body.stopReason);
      if (body.usage !== undefined) readConverseUsage(state, body.usage);
      if (raw.trace !== undefined) readConverseTrace(state, raw.trace);
      if (this.#budget !== undefined) {
        const message = obj(obj(body.output)?.message);
        this.#output = [
          {
            role: 'assistant',
            parts: converseParts(this.#budget, message?.content),
            finish_reason: body.stopReason ?? '',
          },
        ];
      }
      return;
    }
    const body = read(InvokeBody, raw) ?? {};
    state.finish.set(0, invokeFinishReason(body));
    // Only Anthropic-format bodies name the model (`"model":"claude-3-…"`).
    if (body.type === 'message' || body.type === 'completion') state.responseModel = body.model;
    readUsageHeaders(state, this.#head.headers);
    readInvokeGuardrail(state, raw);
    if (this.#budget !== undefined && body.type === 'message') {
      this.#output = [
        {
          role: 'assistant',
          parts: anthropicParts(this.#budget, body.content),
          finish_reason: body.stop_reason ?? '',
        },
      ];
    }
  }

  finish(): ParsedResponse {
    readBedrockStops(this.#state);
    if (this.#budget === undefined) return this.#state.result();
    const output = this.#text?.messages(this.#state.finish.list()) ?? this.#output;
    return this.#state.result(captured(this.#budget, { outputMessages: output }));
  }
}

const bedrockFraming = (request: RequestFacts, head: ResponseHead): Framing =>
  head.status < 400 && request.stream ? 'aws-eventstream' : 'json';

export const bedrock = defineAdapter({
  id: 'bedrock',
  providerName: 'aws.bedrock',
  operationFor(target) {
    return target.method.toUpperCase() === 'POST' && route(target.path) !== undefined ? 'chat' : undefined;
  },
  parseRequest(operation, target, rawBody, options): WithApi<ParsedRequest> {
    const body = obj(rawBody) ?? {};
    const [model, api] = route(target.path) ?? [undefined, 'invoke' as const];
    const converse = api === 'converse' || api === 'converse-stream';
    const guardrailConfig = converse ? read(ConverseRequest, body)?.guardrailConfig : undefined;
    const facts = {
      operation,
      requestModel: model === undefined ? undefined : str(model),
      stream: api === 'converse-stream' || api === 'invoke-with-response-stream',
      params: converse ? converseParams(body) : invokeParams(body),
      [API]: api,
      ...(guardrailConfig === undefined
        ? {}
        : {
            [GUARDRAIL]: {
              id: guardrailConfig.guardrailIdentifier,
              version: guardrailConfig.guardrailVersion,
            } satisfies GuardrailConfig,
          }),
    };
    if (!options.captureContent) return facts;
    // InvokeModel bodies are model-native; the Anthropic shape is the one worth capturing.
    const content = converse ? converseInput(body, options) : anthropicInput(body, options);
    return { ...facts, content };
  },
  framing: bedrockFraming,
  createParser(request, head, options) {
    const budget = responseBudget(request, options);
    const api =
      (apiOf(request) as BedrockApi | undefined) ??
      (request.stream ? 'invoke-with-response-stream' : 'invoke');
    const guardrail = (request as { readonly [GUARDRAIL]?: GuardrailConfig })[GUARDRAIL];
    return new BedrockParser(api, head, budget, guardrail);
  },
} satisfies ProviderAdapter);
