/**
 * The Auto Scaling group's tags: kboot's own and the cluster tag stay on the group (their keys
 * hold "/", which an instance with metadata tags on refuses), the IMDS-safe identity propagates to
 * every instance the group launches.
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { groupTags } from '../../../../../src/adapters/aws/cluster/asg.js';
import { instanceTags } from '../../../../../src/domain/cluster/launch-template-data.js';

describe('groupTags', () => {
  const resourceTags = {
    team: 'platform',
    'kubernetes.io/cluster/prod': 'owned',
    'kboot.io/cluster': 'prod',
    'kboot.io/resource': 'asg/workers-general',
    'kboot.io/managed-by': 'kboot',
  };
  const tags = groupTags('kboot-prod-workers-general', resourceTags, instanceTags('prod', 'worker', 'state'));

  it('propagates only IMDS-safe keys', () => {
    const propagated = tags.filter((t) => t.PropagateAtLaunch).map((t) => t.Key);
    assert.deepEqual(propagated, [
      'KubernetesCluster',
      'kboot.io:cluster',
      'kboot.io:role',
      'kboot.io:table',
    ]);
    for (const key of propagated) assert.doesNotMatch(key ?? '', /\//);
  });

  it("keeps kboot's tags and the spec's on the group, named for it", () => {
    const kept = Object.fromEntries(tags.filter((t) => !t.PropagateAtLaunch).map((t) => [t.Key, t.Value]));
    assert.deepEqual(kept, resourceTags);
    for (const tag of tags) {
      assert.equal(tag.ResourceId, 'kboot-prod-workers-general');
      assert.equal(tag.ResourceType, 'auto-scaling-group');
    }
  });
});
