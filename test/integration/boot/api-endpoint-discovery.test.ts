/**
 * When neither `kboot cluster create` nor the node config gave the API endpoint (the cluster's
 * AWS resources were made by Terraform or CloudFormation), the first master discovers it: the DNS
 * name of the load balancer tagged for the cluster, in moto's ELBv2.
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { createLoadBalancer, testDynamo } from '../../support/aws.js';
import { useBootSuite } from '../../support/boot-suite.js';

const loadBalancer = createLoadBalancer;

describe('API endpoint discovery', () => {
  const boot = useBootSuite();
  const moto = boot.moto;

  it('uses the load balancer tagged for the cluster, skipping Service load balancers and other clusters', async () => {
    const api = await loadBalancer(moto, 'found-api', { 'kubernetes.io/cluster/found': 'owned' });
    await loadBalancer(moto, 'found-svc', {
      'kubernetes.io/cluster/found': 'owned',
      'kubernetes.io/service-name': 'default/web',
    });
    await loadBalancer(moto, 'other-api', { 'kubernetes.io/cluster/other': 'owned' });
    const sim = await boot.cluster({ name: 'found', nodeConfig: '' });
    const master = await sim.addInstance('control-plane');
    const result = await sim.run(master);
    assert.equal(result.exitCode, 0, result.stderr.slice(-1500));
    const dynamodb = testDynamo(moto);
    const item = await dynamodb.send(
      new GetItemCommand({ TableName: 'kboot', Key: { pk: { S: 'cluster#found' }, sk: { S: 'meta' } } }),
    );
    dynamodb.destroy();
    assert.equal(unmarshall(item.Item ?? {}).apiEndpoint, api);
    const init = sim.invocations().find((i) => i.command === 'init');
    assert.match(
      init?.config?.text ?? '',
      new RegExp(`controlPlaneEndpoint: ${api.replaceAll('.', '\\.')}:6443`),
    );
  });

  it('says what to do when no load balancer is tagged and no endpoint is configured', async () => {
    const sim = await boot.cluster({ name: 'lost', nodeConfig: '' });
    const master = await sim.addInstance('control-plane');
    const result = await sim.run(master);
    assert.equal(result.exitCode, 2, result.stderr.slice(-1500));
    assert.match(result.error?.msg ?? '', /no API endpoint is configured or discoverable/);
    assert.match(result.error?.hint ?? '', /apiEndpoint in \/etc\/kboot\/config\.yaml/);
    assert.equal(sim.invocations().filter((i) => i.command === 'init').length, 0);
  });
});
