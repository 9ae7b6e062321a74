import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './infra/process.ts';

/**
 * Starts `surgeguard controller --config <dir>/<id>.yaml` as a process and resolves once it
 * serves (model loaded, watch started), with its URL. Its stderr (the JSON log) is written to
 * `<dir>/<id>-<pid>.log` when it exits, for a failure that needs it. `env` is the process's
 * environment (this one's by default).
 */
export async function startControllerProcess(dir: string, id: string, env: NodeJS.ProcessEnv = process.env): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [join(REPO_ROOT, 'cli/surgeguard.ts'), 'controller', '--config', join(dir, `${id}.yaml`)], { stdio: ['ignore', 'pipe', 'pipe'], env });
  const log: Buffer[] = [];
  child.stderr?.on('data', (d: Buffer) => log.push(d));
  child.on('exit', () => writeFileSync(join(dir, `${id}-${child.pid}.log`), Buffer.concat(log)));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (\S+)/.exec(out);
      if (m?.[1]) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`controller ${id} exited with ${code}: ${Buffer.concat(log).toString().slice(-2000)}`)));
  });
  return { child, url };
}
