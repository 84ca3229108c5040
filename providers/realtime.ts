/**
 * Realtime APIs over WebSocket, as decoded messages in and finished responses out (pure: no sockets, no
 * OpenTelemetry). Two protocols:
 *  - OpenAI / Azure OpenAI Realtime (platform.openai.com/docs/api-reference/realtime-server-events): a response
 *    runs from `response.create` (client; or `response.created` for server-VAD turns) to `response.done`, whose
 *    `response.usage` has input/output tokens with text/audio/image and cached details. `session.created` names
 *    the session id and model; `error` events carry `error.type`/`error.code`.
 *  - Gemini Live (`BidiGenerateContent`, ai.google.dev/api/live): the client's first message is `setup.model`; a
 *    turn ends with `serverContent.turnComplete`; `usageMetadata` (prompt/response token counts with per-modality
 *    details) rides on a server message of the turn, sometimes the one after `turnComplete`.
 * Audio chunks dominate the traffic: their type is read from the first bytes and they are never JSON-parsed.
 *
 * Size: both protocols share the response bookkeeping (open responses, usage, session facts) that one parser
 * per socket drives; the two message dialects are its only difference.
 */
import type {
  RealtimeParser,
  RealtimeResponse,
  RealtimeSessionFacts,
  RealtimeSupport,
  RequestTarget,
} from '../src/adapter.ts';
import type { CallOutcome, ProviderError, Usage } from '../src/record.ts';
import { codeLike } from './state.ts';

type Json = Record<string, unknown>;

const obj = (value: unknown): Json | undefined =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : undefined;
const num = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
const str = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' ? value : undefined;

const utf8 = new TextDecoder();

/** The first bytes of a message as text (one char per byte): enough to read a type without decoding the rest. */
const bytesText = new TextDecoder('latin1');
const head = (data: Uint8Array, bytes: number): string => bytesText.decode(data.subarray(0, bytes));

const parse = (data: Uint8Array): Json | undefined => {
  try {
    return obj(JSON.parse(utf8.decode(data)));
  } catch {
    return undefined;
  }
};

/** Open responses kept per session at most (a misbehaving peer cannot grow the map). */
const maxOpen = 64;

// ---------------------------------------------------------------------------------------------------------------
// OpenAI / Azure OpenAI Realtime

const typeOf = /"type"\s*:\s*"([a-z_.]{1,80})"/;

/** Server events that are only parsed for their type (audio and text chunks: the bulk of the bytes). */
const isDelta = (type: string): boolean => type.startsWith('response.') && type.endsWith('.delta');

/** Server event types worth a JSON parse. */
const serverParsed: ReadonlySet<string> = new Set([
  'session.created',
  'session.updated',
  'response.created',
  'response.done',
  'error',
]);

interface OpenResponse {
  readonly start: number;
  readonly serverStart: number;
  firstOutput: number | undefined;
  outputChunks: number;
}

const openAiUsage = (usage: Json | undefined): { usage: Usage; details: Record<string, number> } => {
  const input = obj(usage?.input_token_details);
  const output = obj(usage?.output_token_details);
  const cached = obj(input?.cached_tokens_details);
  const details: Record<string, number> = {};
  const detail = (key: string, value: unknown): void => {
    const n = num(value);
    if (n !== undefined) details[key] = n;
  };
  detail('llmtap.usage.input_text_tokens', input?.text_tokens);
  detail('llmtap.usage.input_audio_tokens', input?.audio_tokens);
  detail('llmtap.usage.input_image_tokens', input?.image_tokens);
  detail('llmtap.usage.cache_read.text_tokens', cached?.text_tokens);
  detail('llmtap.usage.cache_read.audio_tokens', cached?.audio_tokens);
  detail('llmtap.usage.output_text_tokens', output?.text_tokens);
  detail('llmtap.usage.output_audio_tokens', output?.audio_tokens);
  return {
    usage: {
      inputTokens: num(usage?.input_tokens),
      outputTokens: num(usage?.output_tokens),
      cacheReadInputTokens: num(input?.cached_tokens),
      cacheCreationInputTokens: undefined,
      reasoningOutputTokens: undefined,
    },
    details,
  };
};

/**
 * `response.status` → outcome: `failed` is an error. A `cancelled` response (the user talked over it, or the app
 * cancelled it) ended as the provider reports it, with its usage: not an error; its finish reason says why.
 */
const outcomeOf = (status: string | undefined): CallOutcome =>
  status === 'failed' ? 'errored' : 'completed';

class OpenAiRealtime implements RealtimeParser {
  #sessionId: string | undefined;
  readonly #requestModel: string | undefined;
  #responseModel: string | undefined;
  /** Times of `response.create` events not yet answered by `response.created`, oldest first. */
  readonly #asked: number[] = [];
  readonly #open = new Map<string, OpenResponse>();
  /** An `error` event while responses are open: it belongs to the next one that ends. */
  #pendingError: ProviderError | undefined;

  constructor(target: RequestTarget) {
    // OpenAI: ?model=…; Azure: ?deployment=… (the deployment names the model the app chose).
    this.#requestModel = str(target.query.get('model')) ?? str(target.query.get('deployment'));
  }

  get session(): RealtimeSessionFacts {
    return {
      sessionId: this.#sessionId,
      requestModel: this.#requestModel ?? this.#responseModel,
      responseModel: this.#responseModel,
    };
  }

  clientMessage(data: Uint8Array, at: number): void {
    const type = typeOf.exec(head(data, 256))?.[1];
    if (type === 'response.create' && this.#asked.length < maxOpen) this.#asked.push(at);
  }

  serverMessage(data: Uint8Array, at: number): readonly RealtimeResponse[] {
    const type = typeOf.exec(head(data, 256))?.[1];
    if (type === undefined) return [];
    if (isDelta(type)) {
      this.#delta(data, at);
      return [];
    }
    if (!serverParsed.has(type)) return [];
    const event = parse(data);
    if (event === undefined) return [];
    switch (type) {
      case 'session.created':
      case 'session.updated': {
        const session = obj(event.session);
        this.#sessionId ??= str(session?.id);
        this.#responseModel = str(session?.model) ?? this.#responseModel;
        return [];
      }
      case 'response.created': {
        const id = str(obj(event.response)?.id);
        if (id !== undefined && this.#open.size < maxOpen)
          this.#open.set(id, {
            start: this.#asked.shift() ?? at,
            serverStart: at,
            firstOutput: undefined,
            outputChunks: 0,
          });
        return [];
      }
      case 'error': {
        const error = obj(event.error);
        // Only a code-like value becomes `error.type` (a metric label): never the server's free text.
        const code = codeLike(error?.code) ?? codeLike(error?.type);
        if (code !== undefined && this.#open.size > 0) this.#pendingError = { type: code, midStream: true };
        // An error answering a response.create that never started a response: that request is over.
        if (this.#open.size === 0) this.#asked.shift();
        return [];
      }
      default:
        return this.#done(obj(event.response), at);
    }
  }

  #delta(data: Uint8Array, at: number): void {
    // Deltas name their response near the start: `"response_id":"resp_…"`.
    const id = /"response_id"\s*:\s*"([^"]{1,128})"/.exec(head(data, 512))?.[1];
    const open = id === undefined ? this.#open.values().next().value : this.#open.get(id);
    if (open === undefined) return;
    open.firstOutput ??= at;
    open.outputChunks += 1;
  }

  #done(response: Json | undefined, at: number): readonly RealtimeResponse[] {
    const id = str(response?.id);
    const open = id === undefined ? undefined : this.#open.get(id);
    if (id !== undefined) this.#open.delete(id);
    const status = str(response?.status);
    const statusDetails = obj(response?.status_details);
    const failure = obj(statusDetails?.error);
    const { usage, details } = openAiUsage(obj(response?.usage));
    let error: ProviderError | undefined;
    const failureCode = codeLike(failure?.code) ?? codeLike(failure?.type);
    if (status === 'failed')
      error = { type: failureCode ?? this.#pendingError?.type ?? 'response_failed', midStream: true };
    this.#pendingError = undefined;
    const reason = str(statusDetails?.reason);
    return [
      {
        responseId: id,
        usage,
        details,
        // `completed`, or why it stopped: `max_output_tokens`, `content_filter`, `turn_detected`, `client_cancelled`.
        finishReasons: status === undefined ? [] : [reason ?? status],
        error,
        outcome: outcomeOf(status),
        start: open?.start ?? at,
        serverStart: open?.serverStart,
        firstOutput: open?.firstOutput,
        end: at,
        outputChunks: open?.outputChunks ?? 0,
      },
    ];
  }

  end(at: number): readonly RealtimeResponse[] {
    const out: RealtimeResponse[] = [];
    for (const [id, open] of this.#open) {
      out.push({
        responseId: id,
        usage: openAiUsage(undefined).usage,
        details: {},
        finishReasons: [],
        error: undefined,
        outcome: 'incomplete',
        start: open.start,
        serverStart: open.serverStart,
        firstOutput: open.firstOutput,
        end: at,
        outputChunks: open.outputChunks,
      });
    }
    this.#open.clear();
    return out;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Gemini Live

const modalityKey: Readonly<Record<string, string>> = {
  TEXT: 'text',
  AUDIO: 'audio',
  IMAGE: 'image',
  VIDEO: 'video',
  DOCUMENT: 'document',
};

const geminiUsage = (metadata: Json): { usage: Usage; details: Record<string, number> } => {
  const details: Record<string, number> = {};
  const perModality = (list: unknown, side: 'input' | 'output'): void => {
    if (!Array.isArray(list)) return;
    for (const entry of list) {
      const item = obj(entry);
      const key = modalityKey[str(item?.modality) ?? ''];
      const count = num(item?.tokenCount);
      if (key !== undefined && count !== undefined) details[`llmtap.usage.${side}_${key}_tokens`] = count;
    }
  };
  perModality(metadata.promptTokensDetails, 'input');
  perModality(metadata.responseTokensDetails ?? metadata.candidatesTokensDetails, 'output');
  const response = num(metadata.responseTokenCount) ?? num(metadata.candidatesTokenCount);
  const thoughts = num(metadata.thoughtsTokenCount);
  return {
    usage: {
      inputTokens: num(metadata.promptTokenCount),
      // Semconv output includes reasoning; Gemini counts thoughts separately.
      outputTokens: response === undefined ? thoughts : response + (thoughts ?? 0),
      cacheReadInputTokens: num(metadata.cachedContentTokenCount),
      cacheCreationInputTokens: undefined,
      reasoningOutputTokens: thoughts,
    },
    details,
  };
};

interface GeminiTurn {
  start: number;
  firstOutput: number | undefined;
  outputChunks: number;
  usage: Json | undefined;
  interrupted: boolean;
  /** `turnComplete` seen; usage may still follow in the next message. */
  complete: boolean;
  completedAt: number;
}

class GeminiLive implements RealtimeParser {
  #model: string | undefined;
  #turn: GeminiTurn | undefined;
  #lastClient = 0;

  get session(): RealtimeSessionFacts {
    return { sessionId: undefined, requestModel: this.#model, responseModel: undefined };
  }

  clientMessage(data: Uint8Array, at: number): void {
    this.#lastClient = at;
    if (this.#model !== undefined) return;
    // The first message is `{"setup":{"model":"models/…",…}}`; audio (`realtimeInput`) is never parsed.
    const model = /"setup"\s*:\s*\{[\s\S]*?"model"\s*:\s*"([^"]{1,200})"/.exec(head(data, 1024))?.[1];
    if (model !== undefined) this.#model = model.replace(/^models\//, '').replace(/^.*\/models\//, '');
  }

  serverMessage(data: Uint8Array, at: number): readonly RealtimeResponse[] {
    const start = head(data, 256);
    const out: RealtimeResponse[] = [];
    // Usage and turn ends ride on small messages; audio chunks are large and never carry them.
    const small = data.length <= 65_536;
    const text = small ? head(data, data.length) : start;
    const hasUsage = small && text.includes('"usageMetadata"');
    const isTurnEvent = small && (/"(?:turnComplete|interrupted|generationComplete)"/.test(text) || hasUsage);
    if (/"serverContent"|"toolCall"/.test(start)) {
      if (this.#turn?.complete === true) out.push(this.#finish(this.#turn.completedAt));
      this.#turn ??= {
        start: this.#lastClient || at,
        firstOutput: undefined,
        outputChunks: 0,
        usage: undefined,
        interrupted: false,
        complete: false,
        completedAt: at,
      };
      if (/"modelTurn"|"toolCall"|"outputTranscription"/.test(start)) {
        this.#turn.firstOutput ??= at;
        this.#turn.outputChunks += 1;
      }
    }
    if (!isTurnEvent) return out;
    const message = parse(data);
    if (message === undefined) return out;
    const content = obj(message.serverContent);
    const usage = obj(message.usageMetadata);
    const turn = this.#turn;
    if (turn === undefined) return out;
    if (usage !== undefined) turn.usage = usage;
    if (content?.interrupted === true) turn.interrupted = true;
    if (content?.turnComplete === true) {
      turn.complete = true;
      turn.completedAt = at;
    }
    if (turn.complete && turn.usage !== undefined) out.push(this.#finish(turn.completedAt));
    return out;
  }

  #finish(end: number): RealtimeResponse {
    const turn = this.#turn as GeminiTurn;
    this.#turn = undefined;
    const { usage, details } =
      turn.usage === undefined ? { usage: geminiUsage({}).usage, details: {} } : geminiUsage(turn.usage);
    return {
      responseId: undefined,
      usage,
      details,
      finishReasons: turn.interrupted ? ['interrupted'] : turn.complete ? ['turn_complete'] : [],
      error: undefined,
      outcome: turn.complete && !turn.interrupted ? 'completed' : 'incomplete',
      start: turn.start,
      serverStart: undefined,
      firstOutput: turn.firstOutput,
      end,
      outputChunks: turn.outputChunks,
    };
  }

  end(at: number): readonly RealtimeResponse[] {
    if (this.#turn === undefined) return [];
    return [this.#finish(this.#turn.complete ? this.#turn.completedAt : at)];
  }
}

/** OpenAI and Azure OpenAI Realtime: `…/realtime?model=…` (Azure: `?deployment=…`, or `/openai/v1/realtime`). */
export const openAiRealtime: RealtimeSupport = {
  matches: (target) => /\/realtime\/?$/.test(target.path),
  createParser: (target) => new OpenAiRealtime(target),
};

/** Gemini Live (`…GenerativeService.BidiGenerateContent`) and Vertex AI Live (`…LlmBidiService/BidiGenerateContent`). */
export const geminiLive: RealtimeSupport = {
  matches: (target) => /BidiGenerateContent/i.test(target.path),
  createParser: () => new GeminiLive(),
};
