/**
 * A throwaway CA and serving certificates for the webhook tests, made with the `openssl` CLI (node:crypto
 * cannot sign X.509 certificates). EC P-256 keys: fast to generate.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const webhookHost = 'llmtap-injector.llmtap-system.svc';

const openssl = (args: string[], cwd: string): void => {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'], timeout: 20_000 });
};

export interface TestCa {
  readonly dir: string;
  readonly caCert: Buffer;
  /** Issues a serving cert for `webhookHost` and 127.0.0.1; returns the file paths. */
  issue(name: string): { certFile: string; keyFile: string; cert: Buffer };
}

export const makeTestCa = (): TestCa => {
  const dir = mkdtempSync(join(tmpdir(), 'llmtap-injector-tls-'));
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl(
    [
      'req',
      '-x509',
      ...ec,
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
      '-days',
      '2',
      '-subj',
      '/CN=llmtap test CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
  let serial = 1;
  return {
    dir,
    caCert: readFileSync(join(dir, 'ca.crt')),
    issue(name) {
      openssl(
        ['req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${webhookHost}`],
        dir,
      );
      writeFileSync(
        join(dir, `${name}.ext`),
        `subjectAltName=DNS:${webhookHost},DNS:${webhookHost}.cluster.local,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n`,
      );
      serial += 1;
      openssl(
        [
          'x509',
          '-req',
          '-in',
          `${name}.csr`,
          '-CA',
          'ca.crt',
          '-CAkey',
          'ca.key',
          '-set_serial',
          String(serial),
          '-out',
          `${name}.crt`,
          '-days',
          '1',
          '-extfile',
          `${name}.ext`,
        ],
        dir,
      );
      const certFile = join(dir, `${name}.crt`);
      return { certFile, keyFile: join(dir, `${name}.key`), cert: readFileSync(certFile) };
    },
  };
};
