/** The access log: one `request` line per exchange at info level, with the observers' fields when they gave any. */
import { type Logger, logsAt } from '../log.ts';
import type { ExchangeEnding, ExchangeFacts } from './exchange.ts';
import { type CallLogFields, now } from './tap.ts';

export class AccessLog implements ExchangeEnding {
  readonly #logger: Logger;

  /** Undefined when the logger drops info lines: the line is then not even built. */
  static for(logger: Logger): AccessLog | undefined {
    return logsAt(logger, 'info') ? new AccessLog(logger) : undefined;
  }

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  exchangeEnded(exchange: ExchangeFacts, _complete: boolean, transportError: string | undefined): void {
    this.write(exchange, undefined, transportError);
  }

  write(
    exchange: ExchangeFacts,
    fields: CallLogFields | undefined,
    transportError: string | undefined,
  ): void {
    const { route, upstreamPath } = exchange.match;
    const line = {
      method: exchange.method,
      route: route.config.prefix,
      path: upstreamPath,
      upstream: route.address,
      status: exchange.status ?? 0,
      durationMs: Math.round((now() - exchange.startedAt) * 1000) / 1000,
      bytesIn: exchange.bytesIn,
      bytesOut: exchange.bytesOut,
    };
    const logger = this.#logger;
    if (transportError !== undefined) logger.info('request', { ...line, error: transportError, ...fields });
    else if (fields === undefined) logger.info('request', line);
    // Without the merged object where the logger can (#15: per-call garbage).
    else if (logger.infoWith !== undefined) logger.infoWith('request', line, fields);
    else logger.info('request', { ...line, ...fields });
  }
}
