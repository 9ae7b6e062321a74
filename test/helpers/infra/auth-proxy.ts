// A real authenticating reverse proxy (nginx) in front of a Prometheus, as clusters run one
// (kube-rbac-proxy, an ingress, a Thanos/Mimir gateway): TLS with a CA of the test's own, and
// one location per credential: a bearer token plus a tenant header, or basic auth.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, freePort, run, startSupervised, stopPid, waitUntil } from './process.ts';
import { runContext, runSubdir, type RunContext } from './run.ts';

export interface AuthProxy {
  /** https://127.0.0.1:PORT/bearer/ needs the token and the tenant header; /basic/ needs user:password. */
  readonly url: string;
  /** The CA that signed the proxy's certificate (for 127.0.0.1 and the name "prometheus.test"). */
  readonly caFile: string;
  readonly token: string;
  readonly tenant: string;
  readonly basic: { readonly username: string; readonly password: string };
  stop(): Promise<void>;
}

export async function startAuthProxy(upstream: string, ctx: RunContext = runContext()): Promise<AuthProxy> {
  const nginx = (await run('bash', [join(REPO_ROOT, 'scripts/install-nginx.sh')])).trim().split('\n').pop() ?? 'nginx';
  const dir = runSubdir(ctx, 'auth-proxy');
  mkdirSync(join(dir, 'logs'), { recursive: true });
  const ssl = (args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  ssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=surgeguard-test-ca', '-keyout', 'ca.key', '-out', 'ca.crt']);
  ssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=prometheus.test', '-keyout', 'server.key', '-out', 'server.csr']);
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:prometheus.test\n');
  ssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'san.ext', '-out', 'server.crt']);
  const token = `token-${process.pid}`;
  const tenant = 'tenant-a';
  const basic = { username: 'surgeguard', password: `pw-${process.pid}` };
  // nginx reads {PLAIN} passwords from an auth_basic_user_file: no hashing tool needed.
  writeFileSync(join(dir, 'htpasswd'), `${basic.username}:{PLAIN}${basic.password}\n`);
  const port = await freePort();
  const up = new URL(upstream);
  writeFileSync(
    join(dir, 'nginx.conf'),
    `daemon off;
${process.getuid?.() === 0 ? `# As root nginx runs its workers as nobody, who cannot read this test's private directory.\nuser ${userInfo().username};\n` : ''}worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/logs/error.log warn;
events { worker_connections 64; }
http {
  access_log ${dir}/logs/access.log;
  client_body_temp_path ${dir}/tmp-body; proxy_temp_path ${dir}/tmp-proxy; fastcgi_temp_path ${dir}/tmp-fcgi; uwsgi_temp_path ${dir}/tmp-uwsgi; scgi_temp_path ${dir}/tmp-scgi;
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${dir}/server.crt;
    ssl_certificate_key ${dir}/server.key;
    location /bearer/ {
      if ($http_authorization != "Bearer ${token}") { return 401 "bearer token missing or wrong\\n"; }
      if ($http_x_scope_orgid != "${tenant}") { return 403 "tenant header missing or wrong\\n"; }
      proxy_pass http://${up.host}/;
    }
    location /basic/ {
      auth_basic "prometheus";
      auth_basic_user_file ${dir}/htpasswd;
      proxy_pass http://${up.host}/;
    }
  }
}
`,
  );
  const log = join(dir, 'nginx.log');
  const p = await startSupervised({ cmd: nginx, args: ['-p', dir, '-c', join(dir, 'nginx.conf')], log, pidFile: join(dir, 'supervised.pid'), ownerPid: ctx.ownerPid });
  const url = `https://127.0.0.1:${port}`;
  await waitUntil(`nginx on ${url}`, async () => {
    try {
      execFileSync('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-brief'], { input: '', stdio: ['pipe', 'ignore', 'ignore'], timeout: 2000 });
      return true;
    } catch {
      return undefined;
    }
  }, { timeoutMs: 20_000, intervalMs: 200, pid: p.pid, log });
  return { url, caFile: join(dir, 'ca.crt'), token, tenant, basic, stop: () => stopPid(p.pid, 5_000) };
}
