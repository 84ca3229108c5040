/**
 * Assembles the `LlmCall` from what one call's capture gathered: the adapter's facts, the core's timing and
 * transport facts, and the capture's own limits. Pure: no clock, no I/O.
 */
import type { ParsedRequest, ParsedResponse, ProviderAdapter } from '../adapter.ts';
import type { CallContext, CallEnd } from '../proxy/tap.ts';
import type {
  CallOutcome,
  CallTiming,
  CapturedContent,
  LlmCall,
  Operation,
  RequestFacts,
  ResponseFacts,
} from '../record.ts';
import { emptyUsage } from '../record.ts';

export interface CaptureState {
  readonly adapter: ProviderAdapter;
  readonly context: CallContext;
  readonly request: ParsedRequest;
  /** Undefined when no response head arrived, or the parser never produced facts. */
  readonly parsed: ParsedResponse | undefined;
  readonly httpStatus: number | undefined;
  /** Every stamp but `start` and `end`, which come from the context and the end result. */
  readonly stamps: Omit<CallTiming, 'start' | 'end'>;
  readonly outputChunks: number;
  /** A capture limit or failure cut the copy (the end result's own `copyTruncated` is added here). */
  readonly truncated: boolean;
}

export const emptyResponse: ResponseFacts = Object.freeze({
  responseId: undefined,
  responseModel: undefined,
  usage: emptyUsage,
  finishReasons: Object.freeze([]) as readonly string[],
  error: undefined,
});

/** Request facts when the adapter could not produce any: only what the route and target say. */
export const fallbackRequest = (operation: Operation): ParsedRequest => ({
  operation,
  requestModel: undefined,
  stream: false,
  params: {},
});

/** `server.address` is the bare host: URL keeps IPv6 literals in brackets. */
export const serverAddressOf = (url: URL): string => {
  // Remembered per URL (a route's, constant): `url.hostname` builds a new string on every read (#15).
  let address = addresses.get(url);
  if (address === undefined) {
    address = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    addresses.set(url, address);
  }
  return address;
};
const addresses = new WeakMap<URL, string>();

export const serverPortOf = (url: URL): number =>
  url.port !== '' ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;

const mergeContent = (
  request: CapturedContent | undefined,
  response: CapturedContent | undefined,
): CapturedContent | undefined => {
  if (request === undefined) return response;
  if (response === undefined) return request;
  const truncated = request.truncated === true || response.truncated === true;
  return { ...request, ...response, ...(truncated ? { truncated } : {}) };
};

/**
 * `errored` when the provider reported an error; `completed` only when the provider's terminal signal was
 * seen AND the transport delivered everything; otherwise `incomplete` (usage stays what was seen).
 */
const outcomeOf = (
  response: ResponseFacts,
  parsed: ParsedResponse | undefined,
  end: CallEnd,
): CallOutcome => {
  if (response.error !== undefined) return 'errored';
  if (parsed?.terminal === true && end.complete && end.transportError === undefined) return 'completed';
  return 'incomplete';
};

export const buildLlmCall = (state: CaptureState, end: CallEnd): LlmCall => {
  const { adapter, context, request, parsed } = state;
  // Fresh objects with exactly the record's fields: adapters' extra members (content) must not ride along.
  const requestFacts: RequestFacts = {
    operation: request.operation,
    requestModel: request.requestModel,
    stream: request.stream,
    params: request.params,
  };
  // Optional members are assigned last rather than spread in: the same keys in the same order, without the
  // intermediate objects (#15: per-call garbage).
  let response: ResponseFacts = emptyResponse;
  if (parsed !== undefined) {
    const facts: Mutable<ResponseFacts> = {
      responseId: parsed.responseId,
      responseModel: parsed.responseModel,
      usage: parsed.usage,
      finishReasons: parsed.finishReasons,
      error: parsed.error,
    };
    if (parsed.safety !== undefined) facts.safety = parsed.safety;
    response = facts;
  }
  const url = context.upstreamUrl;
  const content = mergeContent(request.content, parsed?.content);
  const { stamps } = state;
  const call: Mutable<LlmCall> = {
    adapterId: adapter.id,
    provider: context.route.providerName ?? adapter.providerName,
    routePrefix: context.route.prefix,
    request: requestFacts,
    response,
    outcome: outcomeOf(response, parsed, end),
    httpStatus: state.httpStatus,
    transportError: end.transportError,
    serverAddress: serverAddressOf(url),
    serverPort: serverPortOf(url),
    timing: {
      start: context.start,
      upstreamRequestSent: stamps.upstreamRequestSent,
      upstreamFirstByte: stamps.upstreamFirstByte,
      clientFirstByte: stamps.clientFirstByte,
      firstOutput: stamps.firstOutput,
      end: end.at,
    },
    outputChunks: state.outputChunks,
    truncated: state.truncated || end.copyTruncated,
  };
  if (content !== undefined) call.content = content;
  return call;
};

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
