// A fake nvidia-smi that answers from a real capture (test/fixtures/nvidia-smi/captures/):
// `--query-gpu=<fields> --format=csv[,noheader][,nounits]` with exactly the fields asked, the
// real error for a field the captured driver does not know, and `-q [-d PCIE]` with the
// captured -q text. Plain JavaScript so that any Node runs it.
//   FAKE_NVIDIA_SMI_CAPTURE  capture file (default: the H100 one)
//   FAKE_NVIDIA_SMI_STATE    idle | load (default load)
//   FAKE_NVIDIA_SMI_GPUS     how many GPUs to answer for (copies of the captured one; default 1)
//   FAKE_NVIDIA_SMI_UNKNOWN  fields to refuse as an older driver does (the P100-era driver has no
//                            power.draw.instant, gpu_recovery_action or remapped_rows.*)
//   FAKE_NVIDIA_SMI_CONTROL  a file read on every call: "hang" sleeps forever, "corrupt" prints
//                            garbage, anything else answers normally
/* global process, setInterval */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const capture = process.env.FAKE_NVIDIA_SMI_CAPTURE ?? join(here, '../fixtures/nvidia-smi/captures/nvidia_gpu_exporter_linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01.txt');
const state = process.env.FAKE_NVIDIA_SMI_STATE ?? 'load';
const gpus = Number(process.env.FAKE_NVIDIA_SMI_GPUS ?? '1');

let control = '';
try {
  control = process.env.FAKE_NVIDIA_SMI_CONTROL ? readFileSync(process.env.FAKE_NVIDIA_SMI_CONTROL, 'utf8').trim() : '';
} catch {
  // No control file yet: answer normally.
}
if (control === 'hang') setInterval(() => {}, 1 << 30);
else main();

function sections(text) {
  const out = new Map();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^# (.+ :: .+)$/.exec(lines[i]);
    if (!m || !/^#{20,}$/.test(lines[i - 1] ?? '')) continue;
    let j = i + 1;
    while (j < lines.length && !/^#{20,}$/.test(lines[j])) j++;
    let k = j + 1;
    while (k < lines.length && !(/^#{20,}$/.test(lines[k]) && /^# .+ :: /.test(lines[k + 1] ?? ''))) k++;
    out.set(m[1], lines.slice(j + 1, k).join('\n').replace(/\n+$/, '\n'));
  }
  return out;
}

function find(secs, prefix) {
  for (const [k, v] of secs) if (k.startsWith(prefix)) return v;
  return undefined;
}

function main() {
  const args = process.argv.slice(2);
  const secs = sections(readFileSync(capture, 'utf8'));
  if (control === 'corrupt') {
    process.stdout.write('0, GPU-\u0000\u0001garbage, , ,\nNVRM: unexpected\n');
    return;
  }
  const q = args.find((a) => a.startsWith('--query-gpu='));
  if (q) return queryGpu(secs, q.slice('--query-gpu='.length).split(','), args);
  if (args.includes('-q')) {
    process.stdout.write(find(secs, `${state} :: query (-q)`) ?? '');
    return;
  }
  if (args.includes('-L')) {
    process.stdout.write(find(secs, 'capabilities :: list') ?? '');
    return;
  }
  process.stdout.write(find(secs, `${state} :: nvidia-smi (default table)`) ?? '');
}

function queryGpu(secs, fields, args) {
  const format = (args.find((a) => a.startsWith('--format=')) ?? '--format=csv').slice('--format='.length).split(',');
  // Valid names and aliases from the captured `--help-query-gpu`: `"a" or "b"` lines.
  const canonical = new Map();
  for (const line of (find(secs, 'capabilities :: help-query-gpu') ?? '').split('\n')) {
    if (!line.startsWith('"')) continue;
    const names = [...line.matchAll(/"([^"]+)"/g)].map((m) => m[1]);
    for (const n of names) canonical.set(n, names[0]);
  }
  const csv = (find(secs, `${state} :: query-gpu`) ?? '').trim().split('\n');
  const header = (csv[0] ?? '').split(', ');
  const row = (csv[1] ?? '').split(', ');
  const byName = new Map(header.map((h, i) => {
    const m = /^(.*?)(?: \[(.+)\])?$/.exec(h);
    return [m[1], { unit: m[2], value: row[i] ?? '' }];
  }));
  const refused = new Set((process.env.FAKE_NVIDIA_SMI_UNKNOWN ?? '').split(',').filter(Boolean));
  for (const f of fields) {
    if (!canonical.has(f) || refused.has(f)) {
      process.stdout.write(`Field "${f}" is not a valid field to query.\n\n`);
      process.exitCode = 2;
      return;
    }
  }
  const lines = [];
  if (!format.includes('noheader')) lines.push(fields.join(', '));
  for (let i = 0; i < gpus; i++) {
    lines.push(fields.map((f) => cell(byName.get(canonical.get(f)), f, i, format.includes('nounits'))).join(', '));
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

function cell(entry, field, i, nounits) {
  if (!entry) return '[N/A]';
  let v = entry.value;
  if (i > 0 && field === 'index') v = String(i);
  if (i > 0 && field === 'uuid') v = v.replace(/.{2}$/, String(i).padStart(2, '0'));
  if (i > 0 && field === 'pci.bus_id') v = v.replace(/:([0-9A-Fa-f]{2}):/, `:${(0x10 + i).toString(16).toUpperCase()}:`);
  if (nounits && entry.unit && v.endsWith(` ${entry.unit}`)) v = v.slice(0, -entry.unit.length - 1);
  return v;
}
