/**
 * Realtime sessions over WebSocket (OpenAI/Azure Realtime, Gemini Live) → telemetry: a session span for the socket,
 * and one child call per model response (span + metrics + cost, like an HTTP call), from the messages `ws`'s frame
 * receiver decodes out of a copy of the tunnel's bytes.
 *
 *   client bytes ─► FrameDecoder(masked) ─► parser.clientMessage
 *   server bytes ─► FrameDecoder ─► parser.serverMessage ─► finished responses ─► observer.start/finish
 *   close ─► open responses (incomplete) ─► session span with the session's totals
 *
 * Fail-open: a decoder that gives up (message over `limits.maxFrameBytes`, invalid frames) is counted once as a
 * `framing` telemetry error and observes nothing more; the responses already finished stay recorded.
 */
import type { ProviderAdapter, RealtimeParser, RealtimeResponse } from '../adapter.ts';
import type { CallObserver, SessionObservation, TelemetryStage } from '../call-observer.ts';
import type { Limits, RouteConfig } from '../config/schema.ts';
import type { Logger } from '../log.ts';
import type { CallContext } from '../proxy/tap.ts';
import type { WebSocketTap, WebSocketTapFactory } from '../proxy/websocket-tap.ts';
import type { LlmCall } from '../record.ts';
import { FrameDecoder, type GiveUp } from './websocket-frames.ts';

export interface RealtimeTapOptions {
  readonly adapterFor: (route: RouteConfig) => ProviderAdapter | undefined;
  readonly observer: CallObserver;
  readonly limits: Limits;
  readonly onError: (stage: TelemetryStage, error: unknown) => void;
  readonly logger?: Logger | undefined;
}

const headerText = (value: string | string[] | undefined): string | undefined =>
  Array.isArray(value) ? value.join(', ') : value;

class RealtimeTap implements WebSocketTap {
  readonly upstreamHeaders: Readonly<Record<string, string>> | undefined;
  readonly #options: RealtimeTapOptions;
  readonly #context: CallContext;
  readonly #adapter: ProviderAdapter;
  readonly #parser: RealtimeParser;
  readonly #session: SessionObservation | undefined;
  #client: FrameDecoder | undefined;
  #server: FrameDecoder | undefined;
  #responses = 0;
  #inputTokens = 0;
  #outputTokens = 0;
  #gaveUp: string | undefined;

  constructor(
    options: RealtimeTapOptions,
    context: CallContext,
    adapter: ProviderAdapter,
    parser: RealtimeParser,
  ) {
    this.#options = options;
    this.#context = context;
    this.#adapter = adapter;
    this.#parser = parser;
    this.#session = options.observer.openSession?.(context);
    this.upstreamHeaders = this.#session?.upstreamHeaders;
  }

  opened(headers: Readonly<Record<string, string | string[] | undefined>>, _at: number): void {
    const extensions = headerText(headers['sec-websocket-extensions']);
    const maxMessageBytes = this.#options.limits.maxFrameBytes;
    const onGiveUp = (error: GiveUp): void => {
      this.#gaveUp ??= error.reason;
      this.#options.onError('framing', error);
    };
    // With permessage-deflate the decoder delivers messages from zlib callbacks, where the tunnel's tap guard
    // cannot catch: a parser or observer that throws there would be an uncaught exception on every message (a
    // fault storm restarts llmtap). So a throw is caught here and ends the observation of this socket.
    const observing =
      (deliver: (data: Uint8Array) => void) =>
      (data: Uint8Array): void => {
        try {
          deliver(data);
        } catch (error) {
          this.#gaveUp ??= 'OBSERVER_FAILED';
          this.#client?.close();
          this.#server?.close();
          this.#options.onError('parse', error);
        }
      };
    this.#client = new FrameDecoder({
      fromClient: true,
      extensions,
      maxMessageBytes,
      onMessage: observing((data) =>
        this.#parser.clientMessage(data, performance.timeOrigin + performance.now()),
      ),
      onGiveUp,
    });
    this.#server = new FrameDecoder({
      fromClient: false,
      extensions,
      maxMessageBytes,
      onMessage: observing((data) => {
        const finished = this.#parser.serverMessage(data, performance.timeOrigin + performance.now());
        for (const response of finished) this.#record(response);
      }),
      onGiveUp,
    });
  }

  clientData(chunk: Buffer): void {
    this.#client?.push(chunk);
  }

  serverData(chunk: Buffer): void {
    this.#server?.push(chunk);
  }

  closed(at: number, error?: string): void {
    this.#client?.close();
    this.#server?.close();
    // Responses still open when a decoder gave up were cut by llmtap's copy, not by the model: marked truncated.
    // A parser that threw is not asked again: the session span still ends, with what was recorded before.
    if (this.#gaveUp !== 'OBSERVER_FAILED')
      for (const response of this.#parser.end(at)) this.#record(response, this.#gaveUp !== undefined);
    const facts = this.#parser.session;
    const attributes: Record<string, string | number | boolean> = {
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': this.#providerName(),
      'llmtap.realtime.responses': this.#responses,
      'llmtap.realtime.input_tokens': this.#inputTokens,
      'llmtap.realtime.output_tokens': this.#outputTokens,
    };
    if (facts.requestModel !== undefined) attributes['gen_ai.request.model'] = facts.requestModel;
    if (facts.sessionId !== undefined) attributes['gen_ai.conversation.id'] = facts.sessionId;
    if (this.#gaveUp !== undefined) attributes['llmtap.realtime.observer_gave_up'] = this.#gaveUp;
    this.#session?.end({
      at,
      name: `realtime ${facts.requestModel ?? this.#context.route.prefix}`,
      attributes,
      errorType: error,
    });
    this.#options.logger?.info('websocket', {
      route: this.#context.route.prefix,
      path: this.#context.target.path,
      responses: this.#responses,
      inputTokens: this.#inputTokens,
      outputTokens: this.#outputTokens,
      durationMs: Math.round(at - this.#context.start),
      error,
    });
  }

  #providerName(): string {
    return this.#context.route.providerName ?? this.#adapter.providerName;
  }

  #record(response: RealtimeResponse, truncated = false): void {
    this.#responses += 1;
    this.#inputTokens += response.usage.inputTokens ?? 0;
    this.#outputTokens += response.usage.outputTokens ?? 0;
    const facts = this.#parser.session;
    const { upstreamUrl } = this.#context;
    const extra: Record<string, string | number> = { ...response.details };
    if (facts.sessionId !== undefined) extra['gen_ai.conversation.id'] = facts.sessionId;
    const call: LlmCall = {
      adapterId: this.#adapter.id,
      provider: this.#providerName(),
      routePrefix: this.#context.route.prefix,
      request: { operation: 'chat', requestModel: facts.requestModel, stream: true, params: {} },
      response: {
        responseId: response.responseId,
        responseModel: facts.responseModel,
        usage: response.usage,
        finishReasons: response.finishReasons,
        error: response.error,
      },
      outcome: response.outcome,
      httpStatus: 101,
      transportError: undefined,
      serverAddress: upstreamUrl.hostname.replace(/^\[|\]$/g, ''),
      serverPort:
        upstreamUrl.port === '' ? (upstreamUrl.protocol === 'https:' ? 443 : 80) : Number(upstreamUrl.port),
      timing: {
        start: response.start,
        upstreamRequestSent: response.start,
        upstreamFirstByte: response.serverStart,
        clientFirstByte: response.serverStart,
        firstOutput: response.firstOutput,
        end: response.end,
      },
      outputChunks: response.outputChunks,
      truncated,
      extraAttributes: extra,
    };
    // Under the session span; without one (mode `metrics`), under whatever trace the app's upgrade request carried.
    const parent = this.upstreamHeaders ?? this.#context.requestHeaders;
    const observation = this.#options.observer.start({
      ...this.#context,
      requestHeaders: parent,
      start: response.start,
    });
    observation.finish(call);
  }
}

/** One tap per WebSocket upgrade on a route whose adapter speaks a known realtime protocol; others pass unobserved. */
export const createRealtimeTapFactory = (options: RealtimeTapOptions): WebSocketTapFactory => ({
  open(context) {
    const adapter = options.adapterFor(context.route);
    if (adapter === undefined) return undefined;
    const realtime = adapter.realtime;
    if (realtime === undefined || !realtime.matches(context.target)) return undefined;
    return new RealtimeTap(options, context, adapter, realtime.createParser(context.target));
  },
});
