import { readFileSync } from 'node:fs';
import type { Command } from '../command.ts';

/** The package version, read from package.json beside the sources or the build. */
export function packageVersion(): string {
  for (const rel of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'surgeguard' && pkg.version) return pkg.version;
    } catch {
      // Not at this depth (sources and dist/ differ by one level); try the next.
    }
  }
  return 'unknown';
}

export const versionCommand: Command = {
  name: 'version',
  summary: 'Print the SurgeGuard version and the Node.js it runs on',
  run(_argv, io) {
    io.stdout.write(`surgeguard ${packageVersion()} (node ${process.versions.node})\n`);
    return Promise.resolve(0);
  },
};
