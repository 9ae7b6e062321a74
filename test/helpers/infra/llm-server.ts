// A real LLM server for the guard test: llama.cpp's llama-server (CPU), built from the source vendored
// in the llama-cpp-python sdist by scripts/build-llm-server.sh, serving a tiny llama model with random
// weights written on the spot by scripts/make-tiny-gguf.py (no hub download). Its /metrics are its own:
// llamacpp:requests_processing (slots busy) and llamacpp:requests_deferred (requests queued for a slot).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, freePort, run, startSupervised, stopPid, waitUntil } from './process.ts';
import { runContext, runSubdir, type RunContext } from './run.ts';

export interface LlmServer {
  readonly url: string;
  /** host:port, for a scrape target. */
  readonly address: string;
  readonly pid: number;
  readonly log: string;
  stop(): Promise<void>;
}

export interface LlmServerOptions {
  /** Concurrent sequences (llama-server --parallel): requests past this wait as deferred. */
  slots?: number;
  /** CPU threads for decoding. */
  threads?: number;
  /** Total context, shared by the slots. */
  contextTokens?: number;
}

/** Builds (or finds in the cache) llama-server and the gguf venv; returns their directory. */
export async function ensureLlmServerBuilt(): Promise<string> {
  const out = await run('bash', [join(REPO_ROOT, 'scripts/build-llm-server.sh')]);
  const dir = out.trim().split('\n').pop() ?? '';
  if (!existsSync(join(dir, 'bin/llama-server'))) throw new Error(`LLM_SERVER_BUILD: scripts/build-llm-server.sh printed ${JSON.stringify(dir)}, which holds no bin/llama-server`);
  return dir;
}

/** Writes the tiny random-weight model and starts llama-server on 127.0.0.1 with --metrics. */
export async function startLlmServer(ctx: RunContext = runContext(), opts: LlmServerOptions = {}): Promise<LlmServer> {
  const built = await ensureLlmServerBuilt();
  const dir = runSubdir(ctx, 'llm-server');
  const model = join(dir, 'tiny.gguf');
  await run(join(built, 'venv/bin/python'), [join(REPO_ROOT, 'scripts/make-tiny-gguf.py'), model]);
  const port = await freePort();
  const log = join(dir, 'llama-server.log');
  const args = ['-m', model, '--host', '127.0.0.1', '--port', String(port), '--metrics', '--no-webui',
    '-t', String(opts.threads ?? 1), '-np', String(opts.slots ?? 2), '-c', String(opts.contextTokens ?? 4096)];
  const { pid } = await startSupervised({ cmd: join(built, 'bin/llama-server'), args, log, pidFile: join(dir, 'pid'), ownerPid: ctx.ownerPid });
  const url = `http://127.0.0.1:${port}`;
  await waitUntil(`llama-server at ${url}`, async () => {
    try {
      return (await fetch(`${url}/health`)).ok ? true : undefined;
    } catch {
      return undefined;
    }
  }, { timeoutMs: 60_000, pid, log });
  return { url, address: `127.0.0.1:${port}`, pid, log, stop: () => stopPid(pid) };
}

/**
 * One completion of exactly `generate` tokens (end of sequence ignored) after a prompt of about
 * `prompt` tokens; resolves when the server has answered.
 */
export async function complete(server: Pick<LlmServer, 'url'>, prompt: number, generate: number): Promise<void> {
  // In the tiny model's vocabulary "a" is a token and "aa" is not: one token per letter (and BOS).
  const text = 'a'.repeat(Math.max(1, prompt));
  const res = await fetch(`${server.url}/completion`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ prompt: text, n_predict: Math.max(1, generate), ignore_eos: true, cache_prompt: false }),
  });
  if (!res.ok) throw new Error(`LLM_SERVER_COMPLETION: ${server.url}/completion answered ${res.status}: ${await res.text()}`);
  await res.arrayBuffer();
}
