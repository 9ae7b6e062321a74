import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AuthorizationV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { AuditEvent } from './infra/kube.ts';
import { REPO_ROOT, waitUntil } from './infra/process.ts';
import { parseManifests } from './kube-apply.ts';

export interface RoleDoc {
  kind: string;
  metadata: { name: string; namespace?: string };
  rules?: Array<{ apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] }>;
}

/** The roles chosen by `roles`, from deploy/controller/rbac.yaml or from `docs` (a chart render with other values). */
function shippedRoles(roles: (name: string) => boolean, docs?: readonly unknown[]): RoleDoc[] {
  const all = (docs ?? parseManifests(readFileSync(join(REPO_ROOT, 'deploy/controller/rbac.yaml'), 'utf8'))) as unknown as RoleDoc[];
  return all.filter((d) => (d.kind === 'ClusterRole' || d.kind === 'Role') && roles(d.metadata.name));
}

/**
 * Waits until the API server's authorizer grants `serviceAccount` every rule of the shipped roles
 * chosen by `roles` (Roles in `namespace`). The authorizer reads bindings from a watch cache, so a
 * process started right after its bindings were created can be refused its first requests (a
 * 403 in the audit log that the least-privilege checks would blame on the roles).
 */
export async function untilRolesEffective(kc: KubeConfig, serviceAccount: { namespace: string; name: string }, namespace: string, roles: (name: string) => boolean, docs?: readonly unknown[]): Promise<void> {
  const api = kc.makeApiClient(AuthorizationV1Api);
  const user = `system:serviceaccount:${serviceAccount.namespace}:${serviceAccount.name}`;
  const groups = ['system:serviceaccounts', `system:serviceaccounts:${serviceAccount.namespace}`, 'system:authenticated'];
  const asks = shippedRoles(roles, docs).flatMap((doc) =>
    (doc.rules ?? []).flatMap((rule) =>
      rule.resources.flatMap((res) => {
        const [resource, subresource] = res.split('/');
        return rule.verbs.map((verb) => ({ verb, group: rule.apiGroups[0] ?? '', resource, subresource, name: rule.resourceNames?.[0], namespace: doc.kind === 'Role' ? ((docs ? doc.metadata.namespace : undefined) ?? namespace) : undefined }));
      }),
    ),
  );
  assert.ok(asks.length > 0, 'no shipped role matched');
  await waitUntil(
    `${user} granted the shipped roles`,
    async () => {
      for (const resourceAttributes of asks) {
        const review = await api.createSubjectAccessReview({ body: { spec: { user, groups, resourceAttributes } } });
        if (!review.status?.allowed) return undefined;
      }
      return true;
    },
    { timeoutMs: 30_000, intervalMs: 100 },
  );
}

/**
 * Asserts that the shipped roles chosen by `roles` grant nothing with "*" and that each verb on
 * each resource was used at least once by the requests in `events` (least privilege, checked).
 */
export function rbacRulesAllUsed(events: readonly AuditEvent[], roles: (name: string) => boolean, docs?: readonly unknown[]): void {
  const rules = shippedRoles(roles, docs).flatMap((d) => d.rules ?? []);
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
