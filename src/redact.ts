/**
 * Credential redaction for anything llmtap writes (logs, span attributes, error messages).
 * Header values are never logged at all; this is the second line of defence for free text
 * (error messages, URLs) that might carry a key.
 */

/**
 * Header names that carry credentials. Header values are never logged; when free text quotes one of these names
 * with a value ("x-api-key: …"), the value is redacted (the pattern below is built from this list).
 */
const credentialHeaders: readonly string[] = [
  'authorization',
  'proxy-authorization',
  'x-api-key',
  'api-key',
  'x-goog-api-key',
  'cookie',
  'set-cookie',
  'x-amz-security-token',
];

/** Longest first, so a name that ends another (`api-key`, `x-api-key`) never stops the match short. */
const headerNames = [...credentialHeaders].sort((a, b) => b.length - a.length).join('|');

/** Query parameters that carry credentials (`?key=` for Gemini, SigV4 presigned URLs…). */
const credentialParams =
  /([?&](?:key|api[_-]?key|token|access_token|sig|signature|x-amz-[a-z-]+)=)[^&#\s"]*/gi;

const patterns: readonly RegExp[] = [
  /\b(Bearer|Basic|Api-Token)\s+[A-Za-z0-9._~+/=-]{4,}/gi,
  /\bsk-(?:ant-|proj-)?[A-Za-z0-9_-]{8,}/g,
  /\bAIza[0-9A-Za-z_-]{20,}/g,
  /\b(?:AKIA|ASIA)[0-9A-Z]{12,}/g,
  /\b(?:gsk|xai|hf|r8)_[A-Za-z0-9]{8,}/g,
  /((?:Credential|Signature)=)[^,\s"]+/g,
  // A credential header quoted in free text ("x-api-key: …", `"api-key":"…"`, "authorization: Token …"): the
  // value (and a scheme word before it) goes, whatever its shape. The name stays so the line says what was there.
  new RegExp(
    `\\b(${headerNames})(?:["']?\\s*[:=]\\s*["']?|\\s+)(?!REDACTED\\b)(?:[A-Za-z][\\w-]*\\s+)?[^\\s"',;)\\]}]+`,
    'gi',
  ),
];

/**
 * Every pattern above needs one of these substrings (case-insensitively) to match, so a string without any of them
 * is returned as is after one scan. It runs on every string of every log line: the old trigger (any `-`, `_` or
 * `=`) fired on every timestamp and sent each line through all the patterns.
 */
const trigger =
  /key|token|sig|x-amz-|bearer|basic|sk-|aiza|akia|asia|gsk_|xai_|hf_|r8_|credential|authorization|cookie/i;

/** Replaces anything that looks like a credential in free text with `REDACTED`. */
export const redactText = (text: string): string => {
  if (!trigger.test(text)) return text;
  let out = text.replace(credentialParams, '$1REDACTED');
  for (const pattern of patterns) {
    out = out.replace(pattern, (match, prefix: unknown) =>
      typeof prefix === 'string' && match.startsWith(prefix) && prefix.length < match.length
        ? `${prefix}${prefix.endsWith('=') ? '' : ' '}REDACTED`
        : 'REDACTED',
    );
  }
  return out;
};

/** A URL with credential query parameters and userinfo removed, for `url.full`-like attributes. */
export const redactUrl = (url: URL | string): string => {
  const parsed = typeof url === 'string' ? new URL(url) : new URL(url.href);
  parsed.username = '';
  parsed.password = '';
  return redactText(parsed.href);
};
