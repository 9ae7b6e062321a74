import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AuditEvent } from './infra/kube.ts';
import { REPO_ROOT } from './infra/process.ts';
import { parseManifests } from './kube-apply.ts';

interface RoleDoc {
  kind: string;
  metadata: { name: string };
  rules?: Array<{ apiGroups: string[]; resources: string[]; verbs: string[] }>;
}

/**
 * Asserts that the shipped roles chosen by `roles` grant nothing with "*" and that each verb on
 * each resource was used at least once by the requests in `events` (least privilege, checked).
 */
export function rbacRulesAllUsed(events: readonly AuditEvent[], roles: (name: string) => boolean): void {
  const docs = parseManifests(readFileSync(join(REPO_ROOT, 'deploy/controller/rbac.yaml'), 'utf8')) as unknown as RoleDoc[];
  const rules = docs.filter((d) => (d.kind === 'ClusterRole' || d.kind === 'Role') && roles(d.metadata.name)).flatMap((d) => d.rules ?? []);
  assert.ok(rules.length > 0, 'no shipped role matched');
  const unused: string[] = [];
  for (const rule of rules) {
    for (const part of [...rule.apiGroups, ...rule.resources, ...rule.verbs]) assert.notEqual(part, '*', 'the role must not use *');
    for (const res of rule.resources) {
      const [resource, sub] = res.split('/');
      for (const verb of rule.verbs) {
        const used = events.some((e) => e.verb === verb && e.objectRef?.resource === resource && (e.objectRef?.subresource ?? undefined) === sub && rule.apiGroups.includes(e.objectRef?.apiGroup ?? '') && e.responseStatus?.code !== 403);
        if (!used) unused.push(`${verb} ${res}`);
      }
    }
  }
  assert.deepEqual(unused, [], 'rules in the shipped role that no request used');
}
