import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { checkGpu } from '../../../inference/check-gpu.ts';

type Ort = typeof ort;

/** onnxruntime-node whose "cuda" provider is played by CPU, or fails like a machine without the CUDA libraries. */
function fakeOrt(cudaWorks: boolean): Ort {
  return {
    ...ort,
    InferenceSession: {
      create: (model: Uint8Array, options?: { executionProviders?: string[] }) => {
        if (options?.executionProviders?.includes('cuda') && !cudaWorks) return Promise.reject(new Error('libonnxruntime_providers_cuda.so: cannot open shared object file'));
        return ort.InferenceSession.create(model, { executionProviders: ['cpu'] });
      },
    },
  } as unknown as Ort;
}

test('check:gpu without a GPU says so and passes', async () => {
  const lines: string[] = [];
  const code = await checkGpu({ listGpus: () => Promise.reject(new Error('nvidia-smi: not found')), ort: fakeOrt(false), log: (l) => lines.push(l) });
  assert.equal(code, 0);
  assert.match(lines.join('\n'), /no GPU present/);
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
  assert.match(lines.join('\n'), /OK: the model runs on the CUDA execution provider; 1,000 series/);
});
