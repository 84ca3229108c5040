/** Maps an upstream transport failure to llmtap's error catalogue (what the app is answered: 502 or 504). */
import type { ErrorCode } from '../errors.ts';

/** The stable code of a transport error (`ECONNREFUSED`, `UND_ERR_SOCKET`…), else its name. */
export const transportCode = (error: Error): string => {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : error.name;
};

export const errorCodeFor = (transport: string): ErrorCode => {
  switch (transport) {
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'ETIMEDOUT':
      return 'LLMTAP_UPSTREAM_TIMEOUT';
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'ECONNRESET':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'UND_ERR_SOCKET':
    case 'UND_ERR_CLOSED':
      return 'LLMTAP_UPSTREAM_CONNECT';
    default:
      return 'LLMTAP_UPSTREAM_ERROR';
  }
};
