// Runs every benchmark module listed here, one after another (`npm run bench`).
const modules = ['./controller.ts', './replay.ts'];

for (const m of modules) {
  const mod = (await import(m)) as { run(): Promise<void> };
  await mod.run();
}
