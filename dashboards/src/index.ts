import type { Dashboard } from '@grafana/schema';
import { fleetOverview } from './fleet-overview.ts';
import { gpuNodes } from './gpu-nodes.ts';
import { kafka } from './kafka.ts';
import { surgeguard } from './surgeguard.ts';

/** Every shipped dashboard and the file under dashboards/ it renders to, one line each. */
export const DASHBOARDS: ReadonlyArray<{ readonly file: string; readonly build: () => Dashboard }> = [
  { file: 'fleet-overview.json', build: fleetOverview },
  { file: 'gpu-nodes.json', build: gpuNodes },
  { file: 'kafka.json', build: kafka },
  { file: 'surgeguard.json', build: surgeguard },
];

/** The committed text of a dashboard: two-space JSON and a final newline. */
export function renderDashboard(d: Dashboard): string {
  return `${JSON.stringify(d, null, 2)}\n`;
}
