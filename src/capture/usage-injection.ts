/**
 * Streaming-usage injection: when a route's adapter asks for it, the request gets the adapter's patch inserted
 * right after its opening `{` (no re-serialising: the client's bytes stay as they were around it), and the
 * client's copy of the response goes through the adapter's filter that removes what the patch added. The
 * forwarder asks for this through the tap (`CallTap.rewriteRequest`); it knows no adapter.
 */
import type { RequestTarget, ResponseFilter, StreamUsageInjection } from '../adapter.ts';
import { SMALL_MEMBER_BYTES } from '../framing/json-members.ts';
import { skimJsonObject } from '../framing/json-skim.ts';

export interface InjectionPlan {
  readonly body: Buffer;
  readonly filter: ResponseFilter;
}

const isSpace = (byte: number | undefined): boolean =>
  byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;

/** Quick byte check before any parsing: only bodies that mention `"stream"` can be streaming requests. */
const streamKey = Buffer.from('"stream"');

/**
 * This runs before the request is forwarded, so its cost is latency: above this size the body is skimmed
 * (its conversation members skipped by native string searches) instead of `JSON.parse`d whole, which costs
 * ~3 ms per MB plus the garbage of the object graph.
 */
const PARSE_WHOLE_BELOW = 64 * 1024;

/**
 * `parsedWhole` hears the body's `JSON.parse` value when it was parsed whole (small, valid JSON), so the caller
 * can read the request's facts from it instead of parsing the same bytes a second time.
 */
export const planUsageInjection = (
  body: Buffer,
  injection: StreamUsageInjection,
  target?: RequestTarget,
  parsedWhole?: (value: unknown) => void,
): InjectionPlan | undefined => {
  if (body.indexOf(streamKey) === -1) return undefined;
  let open = 0;
  while (open < body.length && isSpace(body[open])) open += 1;
  if (body[open] !== 0x7b /* { */) return undefined;
  let parsed: unknown;
  if (body.length <= PARSE_WHOLE_BELOW) {
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      return undefined;
    }
    parsedWhole?.(parsed);
  } else {
    // Well-formed objects give the same members (large ones as empty stand-ins of their kind); malformed
    // bodies give undefined, as JSON.parse would throw.
    parsed = skimJsonObject(body.subarray(open), SMALL_MEMBER_BYTES, { standIns: true });
    if (parsed === undefined) return undefined;
  }
  const patch = injection.patchRequest(parsed, target);
  if (patch === undefined || patch === '') return undefined;
  let next = open + 1;
  while (next < body.length && isSpace(body[next])) next += 1;
  // An empty object takes the member without the separating comma.
  const text = body[next] === 0x7d /* } */ ? patch.replace(/,\s*$/, '') : patch;
  const insert = Buffer.from(text, 'utf8');
  return {
    body: Buffer.concat(
      [body.subarray(0, open + 1), insert, body.subarray(open + 1)],
      body.length + insert.length,
    ),
    filter: injection.createResponseFilter(),
  };
};

const NOTHING = new Uint8Array(0);

/**
 * The adapter's filter, failing open: its first throw is reported and from then on the bytes pass unfiltered
 * (what it held back of the current event is lost, the smaller harm than cutting the stream).
 */
export const failOpenFilter = (filter: ResponseFilter, onError: (error: unknown) => void): ResponseFilter => {
  let broken = false;
  return {
    push(chunk) {
      if (broken) return chunk;
      try {
        return filter.push(chunk);
      } catch (error) {
        broken = true;
        onError(error);
        return chunk;
      }
    },
    flush() {
      if (broken) return NOTHING;
      try {
        return filter.flush();
      } catch (error) {
        broken = true;
        onError(error);
        return NOTHING;
      }
    },
  };
};
