import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { dirname } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as ort from 'onnxruntime-node';
import { checkGpu } from '../../../inference/check-gpu.ts';

type Ort = typeof ort;

/**
 * onnxruntime-node whose "cuda" provider is played by CPU, or fails like a machine without the CUDA
 * libraries; `skew` turns each of the CUDA session's quantiles q into q * (1 + skew), as a broken
 * kernel would.
 */
function fakeOrt(cudaWorks: boolean, skew = 0): Ort {
  return {
    ...ort,
    InferenceSession: {
      create: async (model: Uint8Array, options?: { executionProviders?: string[] }) => {
        const cuda = options?.executionProviders?.includes('cuda') ?? false;
        if (cuda && !cudaWorks) throw new Error('libonnxruntime_providers_cuda.so: cannot open shared object file');
        const session = await ort.InferenceSession.create(model, { executionProviders: ['cpu'] });
        if (!cuda || skew === 0) return session;
        return {
          run: async (feeds: Record<string, ort.Tensor>) => {
            const out = await session.run(feeds);
            const q = out.quantiles as ort.Tensor;
            return { ...out, quantiles: new ort.Tensor('float32', Float32Array.from(q.data as Float32Array, (v) => v * (1 + skew)), q.dims) };
          },
          release: () => session.release(),
        };
      },
    },
  } as unknown as Ort;
}

test('check:gpu without a GPU says so and passes', async () => {
  const lines: string[] = [];
  const code = await checkGpu({ listGpus: () => Promise.reject(new Error('nvidia-smi: not found')), ort: fakeOrt(false), log: (l) => lines.push(l) });
  assert.equal(code, 0);
  assert.match(lines.join('\n'), /^no GPU present \(nvidia-smi found no device\)/);
});

test('check:gpu with a GPU that CUDA cannot use fails and says how to fix it', async () => {
  const lines: string[] = [];
  const code = await checkGpu({ listGpus: () => Promise.resolve('GPU 0: NVIDIA H200 (UUID: GPU-0)'), ort: fakeOrt(false), log: (l) => lines.push(l) });
  assert.equal(code, 1);
  assert.match(lines.join('\n'), /FAIL: a GPU is present but ONNX Runtime cannot start the CUDA execution provider[\s\S]*onnxruntime-node-install=cuda12/);
});

test('check:gpu with a working CUDA provider compares its outputs with CPU', async () => {
  const lines: string[] = [];
  const code = await checkGpu({ listGpus: () => Promise.resolve('GPU 0: NVIDIA H200'), ort: fakeOrt(true), log: (l) => lines.push(l) });
  assert.equal(code, 0);
  assert.equal(lines[0], 'GPU present:\nGPU 0: NVIDIA H200');
  assert.match(lines.join('\n'), /OK: the model runs on the CUDA execution provider; 1,000 series/);
});

test('check:gpu with a driver that lists no device says so and passes', async () => {
  const lines: string[] = [];
  const code = await checkGpu({ listGpus: () => Promise.resolve('  \n'), ort: fakeOrt(false), log: (l) => lines.push(l) });
  assert.equal(code, 0);
  assert.deepEqual(lines, ['no GPU present (nvidia-smi lists no device); the CUDA path was not checked']);
});

test('check:gpu fails when CUDA outputs differ from CPU by 1%, and passes at a difference of 1e-5', async () => {
  const lines: string[] = [];
  const code = await checkGpu({ listGpus: () => Promise.resolve('GPU 0: NVIDIA H100'), ort: fakeOrt(true, 0.01), log: (l) => lines.push(l) });
  assert.equal(code, 1);
  const fail = lines.find((l) => l.startsWith('FAIL'));
  assert.match(fail ?? '', /^FAIL: CUDA outputs differ from CPU outputs \(largest relative difference 0\.00\d+\)$/);
  // The difference is relative to 1 + |CPU output|: quantiles near 50 off by 1% are about 0.5 / 51 apart.
  const worst = Number(/difference ([\d.e-]+)/.exec(fail ?? '')?.[1]);
  assert.ok(worst > 0.005 && worst < 0.01, String(worst));

  const close: string[] = [];
  assert.equal(await checkGpu({ listGpus: () => Promise.resolve('GPU 0: NVIDIA H100'), ort: fakeOrt(true, 1e-5), log: (l) => close.push(l) }), 0);
  assert.match(close.at(-1) ?? '', /^OK: .*largest relative difference [1-9]\.\d\de-(5|6)\)$/);
});

test('npm run check:gpu on a machine without nvidia-smi prints that no GPU is present and exits 0', async () => {
  const script = fileURLToPath(new URL('../../../inference/check-gpu.ts', import.meta.url));
  // Only node's own folder on PATH, so nvidia-smi is not found even on a GPU machine. The rest of
  // the environment is passed on (a mutation run names its active mutant there).
  const { stdout } = await promisify(execFile)(process.execPath, [script], { env: { ...process.env, PATH: dirname(process.execPath) }, timeout: 60_000 });
  assert.match(stdout, /^no GPU present \(nvidia-smi found no device\); the CUDA path was not checked/);
});
