/**
 * Maps an incoming path to a configured route: `<prefix><rest>?<query>` → `<upstream base + path><rest>?<query>`.
 * Upstreams come only from configuration; nothing in the request can choose another host.
 */
import type { RouteConfig } from '../config/schema.ts';

export interface Route {
  readonly config: RouteConfig;
  /** `https://api.openai.com` — scheme, host and port only. */
  readonly origin: string;
  /** The origin as a URL, shared by every call on the route (read-only by convention). */
  readonly originUrl: URL;
  /** Base path of the upstream URL without a trailing slash (often empty). */
  readonly basePath: string;
  /** `server.address` / `server.port` of the real upstream. */
  readonly address: string;
  readonly port: number;
}

export interface RouteMatch {
  readonly route: Route;
  /** Upstream path: base path + the rest of the client's path. */
  readonly upstreamPath: string;
  /** The query string including `?`, or empty. */
  readonly search: string;
}

export const compileRoute = (config: RouteConfig): Route => {
  const url = new URL(config.upstream);
  const basePath = url.pathname.replace(/\/+$/, '');
  const port = url.port !== '' ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  const address = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return { config, origin: url.origin, originUrl: new URL(url.origin), basePath, address, port };
};

export interface Router {
  readonly routes: readonly Route[];
  match(url: string): RouteMatch | undefined;
}

/** Routes are tried longest prefix first; a prefix matches only at a path-segment boundary. */
export const createRouter = (configs: readonly RouteConfig[]): Router => {
  const routes = [...configs].sort((a, b) => b.prefix.length - a.prefix.length).map(compileRoute);
  return {
    routes,
    match(url) {
      const queryAt = url.indexOf('?');
      const path = queryAt === -1 ? url : url.slice(0, queryAt);
      const search = queryAt === -1 ? '' : url.slice(queryAt);
      for (const route of routes) {
        const prefix = route.config.prefix;
        if (!path.startsWith(prefix)) continue;
        const next = path.charCodeAt(prefix.length);
        if (path.length !== prefix.length && next !== 47 /* '/' */) continue;
        const rest = path.slice(prefix.length);
        const upstreamPath = route.basePath + rest || '/';
        return { route, upstreamPath, search };
      }
      return undefined;
    },
  };
};
