/**
 * The records the live view shows, built from what the feed keeps of a call only when someone reads or listens:
 * a running call's progress, a finished call's log-line fields plus the proxy's. Every string taken from traffic is
 * redacted and clipped here.
 */
import type { LogFields } from '../log.ts';
import type { RequestFacts } from '../record.ts';
import { redactText } from '../redact.ts';

export type CallState = 'waiting' | 'streaming' | 'done';

/** One call as the feed shows it. Field names are the log line's; `id`, `time` and `state` are the feed's. */
export type FeedCall = Record<string, string | number | boolean | readonly string[] | undefined> & {
  readonly id: number;
  readonly time: string;
  readonly state: CallState;
};

/** Longest string copied into a feed record (model ids come from apps). */
const maxValueChars = 256;

export const clip = (value: string): string =>
  redactText(value.length > maxValueChars ? value.slice(0, maxValueChars) : value);

/** A copy of `fields` with strings redacted and clipped, and only JSON-plain values. */
const cleanFields = (fields: LogFields | undefined, into: Record<string, unknown>): void => {
  if (fields === undefined) return;
  for (const key in fields) {
    if (!Object.hasOwn(fields, key)) continue;
    const value = fields[key];
    switch (typeof value) {
      case 'string':
        into[key] = clip(value);
        break;
      case 'number':
        if (Number.isFinite(value)) into[key] = value;
        break;
      case 'boolean':
        into[key] = value;
        break;
      default:
        break;
    }
  }
};

/** A running call as the feed keeps it: updated in place, formatted only when read or heard. */
export interface LiveCall {
  readonly id: number;
  readonly start: number;
  state: CallState;
  readonly route: string;
  readonly provider: string;
  request: RequestFacts | undefined;
  status: number | undefined;
  ttfcMs: number | undefined;
}

/** A finished call as the ring keeps it: references to what its record is built from, and the text once built. */
export interface DoneCall {
  readonly id: number;
  readonly start: number;
  readonly end: number;
  readonly route: string;
  readonly fields: LogFields | undefined;
  readonly provider: string;
  readonly operation: string;
  readonly status: number | undefined;
  readonly responseId: string | undefined;
  readonly finishReasons: readonly string[];
  readonly serverAddress: string;
  readonly serverPort: number;
  readonly truncated: boolean;
  text: string | undefined;
}

export const liveRecord = (call: LiveCall): FeedCall => {
  const record: Record<string, unknown> = {
    id: call.id,
    time: new Date(call.start).toISOString(),
    state: call.state,
    route: call.route,
    provider: clip(call.provider),
  };
  const request = call.request;
  if (request !== undefined) {
    record.operation = request.operation;
    if (request.requestModel !== undefined) record.model = clip(request.requestModel);
    record.stream = request.stream;
  }
  if (call.status !== undefined) record.status = call.status;
  if (call.ttfcMs !== undefined) record.ttfcMs = call.ttfcMs;
  return record as FeedCall;
};

/** A finished call's record: the log line's fields (redacted, clipped) plus the proxy's. */
export const doneRecord = (call: DoneCall): FeedCall => {
  const record: Record<string, unknown> = {
    id: call.id,
    time: new Date(call.start).toISOString(),
    state: 'done',
    route: call.route,
  };
  cleanFields(call.fields, record);
  record.provider ??= clip(call.provider);
  record.operation ??= call.operation;
  record.status = call.status;
  record.durationMs = Math.round(Math.max(0, call.end - call.start) * 1000) / 1000;
  if (call.responseId !== undefined) record.responseId = clip(call.responseId);
  if (call.finishReasons.length > 0) record.finishReasons = call.finishReasons.slice(0, 16).map(clip);
  record.server = `${call.serverAddress}:${call.serverPort}`;
  if (call.truncated) record.truncated = true;
  return record as FeedCall;
};
