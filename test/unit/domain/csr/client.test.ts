/**
 * Which kubelet client requests kboot approves: a table of requests (real PKCS #10 requests made
 * with openssl) against EC2 facts and the registered Nodes, each refused one naming why.
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { InstanceFact, InstanceLookup } from '../../../../src/domain/cleanup/ports.js';
import type { CsrObject } from '../../../../src/domain/csr/approve.js';
import {
  type ClientCsrFacts,
  decideClientCsr,
  isPendingClientCsr,
  requestedClientNode,
} from '../../../../src/domain/csr/client.js';
import { clientCsrObject, csrObject, makeClientCsr, makeCsr } from '../../../support/csr.js';

const NODE = 'ip-10-0-1-5.ec2.internal';
const OTHER = 'ip-10-0-1-6.ec2.internal';
const LAUNCH_MS = Date.parse('2026-12-07T20:00:00Z');
const AT = (minutes: number) => new Date(LAUNCH_MS + minutes * 60_000).toISOString();
const DAY_MS = 24 * 3_600_000;

function lookup(facts: InstanceFact[]): InstanceLookup {
  return {
    byId: new Map(facts.map((fact) => [fact.instanceId, fact])),
    byDnsName: new Map(facts.flatMap((fact) => (fact.privateDnsName ? [[fact.privateDnsName, fact]] : []))),
  };
}

const OURS: InstanceFact = {
  instanceId: 'i-0aaa',
  state: 'running',
  privateDnsName: NODE,
  privateIp: '10.0.1.5',
  cluster: 'prod',
  launchTimeMs: LAUNCH_MS,
};

const GOOD_PEM = makeClientCsr(NODE);
const good = (name = 'csr-good', createdAt = AT(2)) => clientCsrObject(name, GOOD_PEM, { createdAt });

interface Case {
  name: string;
  csr: CsrObject;
  facts?: InstanceFact[];
  nodes?: string[];
  others?: CsrObject[];
  reason?: RegExp;
}

const cases: Case[] = [
  { name: "the request of this cluster's new instance, two minutes after its launch", csr: good() },
  {
    name: 'an RSA key (a kubelet makes EC P-256 keys)',
    csr: clientCsrObject('csr-rsa', makeClientCsr(NODE, { key: 'rsa-2048' }), { createdAt: AT(2) }),
    reason: /its key is rsa 2048, not the EC P-256 key/,
  },
  {
    name: 'a P-384 key',
    csr: clientCsrObject('csr-p384', makeClientCsr(NODE, { key: 'ec-p384' }), { createdAt: AT(2) }),
    reason: /its key is ec secp384r1/,
  },
  {
    name: 'a name no instance has (another node than the requester is)',
    csr: clientCsrObject('csr-stranger', makeClientCsr(OTHER), { createdAt: AT(2) }),
    reason: /no EC2 instance of cluster prod has the private DNS name ip-10-0-1-6/,
  },
  {
    name: "another cluster's instance",
    csr: good(),
    facts: [{ ...OURS, cluster: 'staging' }],
    reason: /no EC2 instance of cluster prod/,
  },
  {
    name: 'an instance without a cluster tag',
    csr: good(),
    facts: [{ ...OURS, cluster: undefined }],
    reason: /no EC2 instance of cluster prod/,
  },
  {
    name: 'an instance shutting down',
    csr: good(),
    facts: [{ ...OURS, state: 'shutting-down' }],
    reason: /instance i-0aaa is shutting-down/,
  },
  {
    name: 'a terminated instance (EC2 clears its private DNS name)',
    csr: good(),
    facts: [{ ...OURS, state: 'terminated', privateDnsName: undefined }],
    reason: /no EC2 instance of cluster prod has the private DNS name/,
  },
  {
    name: 'a stopped instance',
    csr: good(),
    facts: [{ ...OURS, state: 'stopped' }],
    reason: /is stopped/,
  },
  {
    name: 'the name of a Node already registered (a takeover of that node)',
    csr: good(),
    nodes: [NODE],
    reason: /a Node named ip-10-0-1-5\.ec2\.internal is already registered/,
  },
  {
    name: 'serving usages',
    csr: clientCsrObject('csr-serving-usages', GOOD_PEM, {
      createdAt: AT(2),
      usages: ['digital signature', 'server auth'],
    }),
    reason: /usages \[digital signature, server auth\] are not those of a kubelet client certificate/,
  },
  {
    name: 'an extra usage',
    csr: clientCsrObject('csr-extra', GOOD_PEM, {
      createdAt: AT(2),
      usages: ['digital signature', 'client auth', 'server auth'],
    }),
    reason: /are not those of a kubelet client certificate/,
  },
  {
    name: 'key encipherment beside the two (allowed, as kube-controller-manager allows it)',
    csr: clientCsrObject('csr-ke', GOOD_PEM, {
      createdAt: AT(2),
      usages: ['key encipherment', 'digital signature', 'client auth'],
    }),
  },
  {
    name: 'a request made by a user, not with a bootstrap token',
    csr: clientCsrObject('csr-user', GOOD_PEM, {
      createdAt: AT(2),
      username: 'alice',
      groups: ['system:authenticated'],
    }),
    reason: /requested by alice, not with a bootstrap token/,
  },
  {
    name: "a node asking for another node's identity",
    csr: clientCsrObject('csr-node', GOOD_PEM, {
      createdAt: AT(2),
      username: `system:node:${OTHER}`,
      groups: ['system:nodes'],
    }),
    reason: /requested by system:node:ip-10-0-1-6/,
  },
  {
    name: 'a subject in another group',
    csr: clientCsrObject(
      'csr-masters',
      makeClientCsr(NODE, { subject: `/O=system:masters/CN=system:node:${NODE}` }),
      {
        createdAt: AT(2),
      },
    ),
    reason: /its subject O is not system:nodes alone/,
  },
  {
    name: 'a subject that is not a node',
    csr: clientCsrObject('csr-admin', makeClientCsr(NODE, { subject: '/O=system:nodes/CN=admin' }), {
      createdAt: AT(2),
    }),
    reason: /its subject CN is not system:node:/,
  },
  {
    name: 'subject alternative names',
    csr: clientCsrObject('csr-sans', makeCsr(NODE, { dnsNames: [NODE] }), { createdAt: AT(2) }),
    reason: /asks for DNS names or IP addresses/,
  },
  {
    name: 'a request made before the instance was launched (made ready for a name it would get)',
    csr: good('csr-early', AT(-10)),
    reason: /made before instance i-0aaa was launched/,
  },
  {
    name: 'an instance launched longer ago than a bootstrap token lives',
    csr: good('csr-late', AT(25 * 60)),
    reason: /launched 25 h before it, longer than a bootstrap token lives \(24 h\)/,
  },
  {
    name: 'two requests for the same node at once (one of them is not the instance)',
    csr: good('csr-a', AT(2)),
    others: [good('csr-b', AT(3))],
    reason: /2 pending requests ask for system:node:ip-10-0-1-5\.ec2\.internal \(csr-a, csr-b\)/,
  },
  {
    name: 'a newer request for the same node, made after the old one was given up on',
    csr: good('csr-retry', AT(12)),
    others: [good('csr-old', AT(2))],
  },
  {
    name: 'the old request of a node that joined again',
    csr: good('csr-old', AT(2)),
    others: [good('csr-retry', AT(12))],
    reason: /a newer request asks for the same node: this one was given up on/,
  },
  {
    name: 'a request without a creation time',
    csr: { ...good(), metadata: { name: 'csr-timeless' } },
    reason: /no creation time/,
  },
];

describe('decideClientCsr', () => {
  for (const { name, csr, facts, nodes, others, reason } of cases) {
    it(`${reason === undefined ? 'approves' : 'leaves pending'} ${name}`, () => {
      const context: ClientCsrFacts = {
        cluster: 'prod',
        instances: lookup(facts ?? [OURS]),
        nodeNames: new Set(nodes ?? []),
        maxInstanceAgeMs: DAY_MS,
        pending: [csr, ...(others ?? [])],
      };
      const decision = decideClientCsr(csr, context);
      if (reason === undefined) {
        assert.deepEqual(decision, {
          kind: 'client',
          name: csr.metadata.name,
          nodeName: NODE,
          approve: true,
          instanceId: 'i-0aaa',
        });
      } else {
        assert.equal(decision.approve, false, `approved: ${JSON.stringify(decision)}`);
        assert.match((decision as { reason: string }).reason, reason);
      }
    });
  }

  it('names the node a request asks to be from its subject, not from its requester', () => {
    assert.equal(requestedClientNode(good()), NODE);
    assert.equal(
      requestedClientNode(clientCsrObject('x', makeClientCsr(NODE, { subject: '/CN=admin' }))),
      undefined,
    );
  });

  it("decides pending client requests only, leaving a node's renewal of its own to the controller-manager", () => {
    assert.equal(isPendingClientCsr(good()), true);
    assert.equal(isPendingClientCsr({ ...good(), status: { conditions: [{ type: 'Approved' }] } }), false);
    assert.equal(isPendingClientCsr({ ...good(), status: { conditions: [{ type: 'Denied' }] } }), false);
    assert.equal(isPendingClientCsr(csrObject('serving', NODE, makeCsr(NODE))), false);
    const renewal = clientCsrObject('renewal', GOOD_PEM, {
      username: `system:node:${NODE}`,
      groups: ['system:nodes'],
    });
    assert.equal(isPendingClientCsr(renewal), false);
    const foreign = clientCsrObject('foreign', GOOD_PEM, {
      username: `system:node:${OTHER}`,
      groups: ['system:nodes'],
    });
    assert.equal(isPendingClientCsr(foreign), true, "another node's request is decided (and refused)");
  });
});
