/**
 * The `nginx` anchor (the near-physical limit), used when the binary is installed: one worker,
 * `proxy_buffering off`, keep-alive upstream, everything under a temporary directory.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitForHttp } from './net.ts';
import { type Started, start } from './procs.ts';

const CANDIDATES = ['/usr/sbin/nginx', '/usr/bin/nginx', '/usr/local/sbin/nginx', '/usr/local/bin/nginx'];

export const findNginx = (): string | undefined => {
  for (const path of CANDIDATES) {
    try {
      execFileSync(path, ['-v'], { stdio: 'ignore' });
      return path;
    } catch {}
  }
  return undefined;
};

export const nginxVersion = (binary: string): string => {
  // nginx prints its version on stderr and exits 0.
  const run = spawnSync(binary, ['-v'], { encoding: 'utf8' });
  return `${run.stderr ?? ''}${run.stdout ?? ''}`.trim().replace(/^nginx version:\s*/, '') || 'nginx';
};

const config = (dir: string, port: number, upstreamPort: number, prefix: string): string => `
daemon off;
master_process on;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
worker_rlimit_nofile 20000;
events { worker_connections 16384; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  keepalive_requests 1000000;
  keepalive_timeout 120s;
  client_max_body_size 64m;
  client_body_buffer_size 2m;
  upstream fake { server 127.0.0.1:${upstreamPort}; keepalive 256; keepalive_requests 1000000; }
  server {
    listen 127.0.0.1:${port};
    location ${prefix}/ {
      proxy_pass http://fake/;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_request_buffering off;
      proxy_read_timeout 600s;
    }
  }
}
`;

export const startNginx = async (
  binary: string,
  tmp: string,
  port: number,
  upstreamPort: number,
  prefix: string,
): Promise<Started> => {
  const dir = join(tmp, `nginx-${port}`);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'nginx.conf');
  writeFileSync(file, config(dir, port, upstreamPort, prefix));
  const started = start('nginx', binary, ['-p', dir, '-c', file, '-e', join(dir, 'error.log')]);
  // nginx prints nothing when ready; poll its port instead (any HTTP answer will do).
  await waitForHttp(`http://127.0.0.1:${port}/`, 10_000, () => false, started);
  return started;
};
