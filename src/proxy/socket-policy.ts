/**
 * How the forwarder treats the client's socket around one exchange: the idle-timer exemption while the upstream
 * is thinking, and the response head's write deferred to the end of the turn. The server's `timeout` handler
 * reads the exemption (`awaitingUpstreamHead`); exchanges set and clear it.
 */

/** What the head-flush queue calls back at the end of the turn. */
export interface DeferredHead {
  /** Writes the head on its own when no body bytes followed it in the same turn. */
  flushHeadIfNoBody(): void;
}

/**
 * Client sockets whose exchange waits for the upstream's response head, by that exchange. The idle timer stays
 * armed meanwhile and the server ignores it firing for these sockets: the same rule as disarming it for the wait
 * and re-arming it at the head, without two timer updates per request.
 */
const awaitingHead = new WeakMap<object, object>();

/** True while the exchange on this client socket waits for its upstream's response head. */
export const awaitingUpstreamHead = (socket: object): boolean => awaitingHead.has(socket);

/**
 * Until the upstream answers, the client's connection is silent by design (the model is thinking): that wait is
 * bounded by upstreamHeadersMs, not by the client-side idle timeout.
 */
export const awaitHead = (socket: object, exchange: object): void => {
  awaitingHead.set(socket, exchange);
};

/** Ends the exemption, if this exchange holds it (with pipelining, a later one may). */
export const stopAwaitingHead = (socket: object, exchange: object): void => {
  if (awaitingHead.get(socket) === exchange) awaitingHead.delete(socket);
};

/**
 * Heads waiting for the end of this turn, checked in one microtask: no closure per response, and the check still
 * runs once the synchronous part of the turn (the same socket read's body bytes) is over. The first model token
 * may be seconds away, so a head must not wait for it; but when body bytes arrive in the same read (every JSON
 * answer), head and body go out in one write instead of two.
 */
let headsToFlush: DeferredHead[] = [];
const flushHeads = (): void => {
  const heads = headsToFlush;
  headsToFlush = [];
  for (const head of heads) {
    try {
      head.flushHeadIfNoBody();
    } catch (error) {
      // Surfaces as it would have from a microtask of its own, without holding back the other heads.
      queueMicrotask(() => {
        throw error;
      });
    }
  }
};

export const flushHeadLater = (head: DeferredHead): void => {
  if (headsToFlush.push(head) === 1) queueMicrotask(flushHeads);
};
