// `npm run check:gpu`: checks that the forecaster runs on the CUDA execution provider where a GPU
// exists. Without a GPU it says so and exits 0; on a GPU machine it exits 1 when CUDA cannot run the
// model or its outputs differ from CPU's.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import type * as OrtModule from 'onnxruntime-node';
import type { InferenceSession } from 'onnxruntime-node';
import { defaultModelPath } from './load.ts';
import { checkModelContract } from './model-contract.ts';

/** What the check needs from the machine, injected so a test can play a GPU machine or a CPU one. */
export interface CheckGpuDeps {
  /** Lists GPUs (`nvidia-smi -L`); rejects when there is no driver or no GPU. */
  readonly listGpus: () => Promise<string>;
  readonly ort: typeof OrtModule;
  readonly log: (line: string) => void;
}

const HELP = `The CUDA execution provider needs libonnxruntime_providers_cuda.so beside onnxruntime-node's binding
(node_modules/onnxruntime-node/bin/napi-v6/linux/x64/) and CUDA 12 with cuDNN 9 on the library path.
Install it with "npm install --onnxruntime-node-install=cuda12", or copy the provider libraries from
PyPI's onnxruntime-gpu wheel of the same version (onnxruntime/capi/libonnxruntime_providers_{cuda,shared}.so).`;

/** Runs the check and returns the exit code: 0 no GPU or CUDA works, 1 a GPU that CUDA cannot use. */
export async function checkGpu(deps: CheckGpuDeps, modelPath: string = defaultModelPath()): Promise<number> {
  let gpus: string;
  try {
    gpus = (await deps.listGpus()).trim();
  } catch {
    // No driver or no device: nothing to check on this machine, which is not a failure.
    deps.log('no GPU present (nvidia-smi found no device); the CUDA path was not checked; SurgeGuard runs the model on CPU here');
    return 0;
  }
  if (!gpus) {
    deps.log('no GPU present (nvidia-smi lists no device); the CUDA path was not checked');
    return 0;
  }
  deps.log(`GPU present:\n${gpus}`);
  const bytes = readFileSync(modelPath);
  const c = checkModelContract(bytes, modelPath);
  const n = 1000;
  const feeds = (): Record<string, InstanceType<typeof deps.ort.Tensor>> => ({
    recent: new deps.ort.Tensor('float32', Float32Array.from({ length: n * c.inputLength }, (_, i) => 50 + 40 * Math.sin(i / 7)), [n, c.inputLength]),
    seasonal: new deps.ort.Tensor('float32', Float32Array.from({ length: n * (c.seasonalContext + c.horizon) }, (_, i) => 50 + 30 * Math.cos(i / 5)), [n, c.seasonalContext + c.horizon]),
    season_available: new deps.ort.Tensor('float32', new Float32Array(n).fill(1), [n, 1]),
  });
  let cuda: InferenceSession;
  try {
    cuda = await deps.ort.InferenceSession.create(bytes, { executionProviders: ['cuda'] });
  } catch (err) {
    deps.log(`FAIL: a GPU is present but ONNX Runtime cannot start the CUDA execution provider: ${(err as Error).message}\n${HELP}`);
    return 1;
  }
  const cpu = await deps.ort.InferenceSession.create(bytes, { executionProviders: ['cpu'] });
  await cuda.run(feeds());
  const t0 = performance.now();
  const got = (await cuda.run(feeds())).quantiles?.data as Float32Array;
  const ms = performance.now() - t0;
  const want = (await cpu.run(feeds())).quantiles?.data as Float32Array;
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs((got[i] ?? NaN) - (want[i] ?? 0)) / (1 + Math.abs(want[i] ?? 0)));
  await cuda.release();
  await cpu.release();
  if (!(worst <= 1e-3)) {
    deps.log(`FAIL: CUDA outputs differ from CPU outputs (largest relative difference ${worst})`);
    return 1;
  }
  deps.log(`OK: the model runs on the CUDA execution provider; 1,000 series in ${ms.toFixed(2)} ms; outputs match CPU (largest relative difference ${worst.toExponential(2)})`);
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const run = promisify(execFile);
  const ort = await import('onnxruntime-node');
  process.exitCode = await checkGpu({ listGpus: async () => (await run('nvidia-smi', ['-L'], { timeout: 10_000 })).stdout, ort, log: (l) => console.log(l) });
}
