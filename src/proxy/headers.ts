/**
 * Header handling for a transparent proxy (RFC 9110 §7.6.1): hop-by-hop headers and those named in
 * `Connection` are dropped, everything else passes byte for byte in its original order and casing.
 * `Host` is left to the upstream client (set from the route's origin); no `X-Forwarded-*` is added.
 */

const hopByHop: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Request headers that must not be forwarded as sent (the upstream client sets its own). */
const requestOnly: ReadonlySet<string> = new Set(['host', 'expect']);

const connectionTokens = (value: string | undefined): ReadonlySet<string> | undefined => {
  if (value === undefined) return undefined;
  // What almost every peer sends names no header: no split, no set.
  const plain = value.length <= 10 ? value.toLowerCase() : '';
  if (plain === 'keep-alive' || plain === 'close') return undefined;
  const tokens = value
    .split(',')
    .map((token) => token.trim().toLowerCase())
    .filter((token) => token !== '' && token !== 'close' && token !== 'keep-alive');
  return tokens.length === 0 ? undefined : new Set(tokens);
};

/**
 * Upstream request headers as a flat `[name, value, …]` list from the client's raw headers.
 * `extra` (trace context) replaces any client header of the same name; `drop` removes more names.
 */
export const upstreamRequestHeaders = (
  rawHeaders: readonly string[],
  connection: string | undefined,
  extra: Readonly<Record<string, string>> | undefined,
  drop?: ReadonlySet<string>,
): string[] => {
  const named = connectionTokens(connection);
  const out: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string;
    const lower = name.toLowerCase();
    if (hopByHop.has(lower) || requestOnly.has(lower) || named?.has(lower) || drop?.has(lower)) continue;
    // HTTP/2 pseudo-headers (:method, :path, :authority, :scheme) are the request line, not headers.
    if (lower.charCodeAt(0) === 58 /* ':' */) continue;
    if (extra !== undefined && Object.hasOwn(extra, lower)) continue;
    out.push(name, rawHeaders[i + 1] as string);
  }
  if (extra !== undefined) for (const name of Object.keys(extra)) out.push(name, extra[name] as string);
  return out;
};

/**
 * Client response headers as a flat list from undici's raw header buffers, minus hop-by-hop ones. When
 * `lowerCased` is given it is filled with every header by lower-case name (repeated ones joined with `, `) for
 * the observers; without it no such object is built (forwarding alone does not need it).
 */
export const clientResponseHeaders = (
  raw: readonly (Buffer | string)[],
  drop?: ReadonlySet<string>,
  lowerCased?: Record<string, string>,
): string[] => {
  const headers: string[] = [];
  let connection: string | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]?.toString('latin1') ?? '';
    const value = raw[i + 1]?.toString('latin1') ?? '';
    const lower = name.toLowerCase();
    if (lowerCased !== undefined) {
      const previous = lowerCased[lower];
      lowerCased[lower] = previous === undefined ? value : `${previous}, ${value}`;
    }
    if (hopByHop.has(lower)) {
      if (lower === 'connection') connection = connection === undefined ? value : `${connection}, ${value}`;
      continue;
    }
    if (drop?.has(lower)) continue;
    headers.push(name, value);
  }
  // Names listed in Connection are rare (`keep-alive` and `close` are not names): only then a second pass.
  const named = connectionTokens(connection);
  if (named === undefined) return headers;
  const kept: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i] as string;
    if (!named.has(name.toLowerCase())) kept.push(name, headers[i + 1] as string);
  }
  return kept;
};
