import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A throwaway CA and a serving certificate for `dnsName` (and 127.0.0.1), made with openssl. */
export function servingCert(dnsName: string): { dir: string; caFile: string; certFile: string; keyFile: string; caPem: string } {
  const dir = mkdtempSync(join(tmpdir(), 'sg-serving-'));
  const ssl = (args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  ssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=surgeguard-test-serving-ca', '-keyout', 'ca.key', '-out', 'ca.crt']);
  ssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${dnsName}`, '-keyout', 'server.key', '-out', 'server.csr']);
  writeFileSync(join(dir, 'san.ext'), `basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:${dnsName},IP:127.0.0.1\n`);
  ssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'san.ext', '-out', 'server.crt']);
  return { dir, caFile: join(dir, 'ca.crt'), certFile: join(dir, 'server.crt'), keyFile: join(dir, 'server.key'), caPem: readFileSync(join(dir, 'ca.crt'), 'utf8') };
}
