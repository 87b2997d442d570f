/**
 * Which kubelet serving requests kboot approves: a table of requests against EC2 facts, each
 * refused one naming why; the requests are real PKCS #10 requests made with openssl.
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { InstanceFact, InstanceLookup } from '../../../../src/domain/cleanup/ports.js';
import { type CsrObject, decideCsr, isPendingServingCsr } from '../../../../src/domain/csr/approve.js';
import { parseCsr } from '../../../../src/domain/csr/request.js';
import { csrObject, makeCsr } from '../../../support/csr.js';

const NODE = 'ip-10-0-1-5.ec2.internal';
const OTHER = 'ip-10-0-1-6.ec2.internal';

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
};

const good = makeCsr(NODE, { dnsNames: [NODE], ipAddresses: ['10.0.1.5'] });

describe('parseCsr', () => {
  it('reads the subject, the names and addresses, and checks the signature', () => {
    assert.deepEqual(parseCsr(good), {
      commonNames: [`system:node:${NODE}`],
      organizations: ['system:nodes'],
      dnsNames: [NODE],
      ipAddresses: ['10.0.1.5'],
      signatureValid: true,
      publicKey: { type: 'ec', curve: 'prime256v1' },
    });
  });

  it('finds a request whose signature does not match its key', () => {
    const der = Buffer.from(good.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64');
    der[der.length - 5] = (der[der.length - 5] ?? 0) ^ 0xff;
    const pem = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
    assert.equal(parseCsr(pem).signatureValid, false);
  });

  it('refuses text that is not a request, without quoting it', () => {
    assert.throws(() => parseCsr('hello'), /no PEM CERTIFICATE REQUEST block/);
    assert.throws(
      () => parseCsr('-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----'),
      (error: Error) => /not a valid PKCS #10/.test(error.message) && !error.message.includes('AAAA'),
    );
  });
});

describe('decideCsr', () => {
  const cases: { name: string; csr: CsrObject; facts?: InstanceFact[]; reason?: RegExp }[] = [
    { name: 'a request of an instance of this cluster', csr: csrObject('csr-1', NODE, good) },
    {
      name: 'a request by a user, not a node',
      csr: csrObject('csr-2', NODE, good, { username: 'alice' }),
      reason: /requested by alice, not by a node/,
    },
    {
      name: 'a requester outside system:nodes',
      csr: csrObject('csr-3', NODE, good, { groups: ['system:authenticated'] }),
      reason: /not in group system:nodes/,
    },
    {
      name: 'client auth usage',
      csr: csrObject('csr-4', NODE, good, { usages: ['digital signature', 'client auth'] }),
      reason: /not those of a serving certificate/,
    },
    {
      name: 'a node asking in the name of another node',
      csr: csrObject('csr-5', OTHER, good),
      facts: [OURS, { ...OURS, instanceId: 'i-0bbb', privateDnsName: OTHER, privateIp: '10.0.1.6' }],
      reason: /CN is not system:node:ip-10-0-1-6/,
    },
    {
      name: 'another organization',
      csr: csrObject('csr-6', NODE, makeCsr(NODE, { subject: `/O=system:masters/CN=system:node:${NODE}` })),
      reason: /O is not system:nodes alone/,
    },
    {
      name: 'an instance of another cluster',
      csr: csrObject('csr-7', NODE, good),
      facts: [{ ...OURS, cluster: 'staging' }],
      reason: /no EC2 instance of cluster prod has the private DNS name/,
    },
    {
      name: 'an untagged instance',
      csr: csrObject('csr-8', NODE, good),
      facts: [{ ...OURS, cluster: undefined }],
      reason: /no EC2 instance of cluster prod/,
    },
    {
      name: 'no such instance',
      csr: csrObject('csr-9', NODE, good),
      facts: [],
      reason: /no EC2 instance/,
    },
    {
      name: 'a stopped instance',
      csr: csrObject('csr-10', NODE, good),
      facts: [{ ...OURS, state: 'stopped' }],
      reason: /is stopped/,
    },
    {
      name: 'an IP address of another instance',
      csr: csrObject('csr-11', NODE, makeCsr(NODE, { ipAddresses: ['10.0.1.6'] })),
      reason: /IP address\(es\) 10\.0\.1\.6/,
    },
    {
      name: 'an extra DNS name',
      csr: csrObject('csr-12', NODE, makeCsr(NODE, { dnsNames: [NODE, 'kubernetes.default'] })),
      reason: /DNS name\(s\) kubernetes\.default/,
    },
    {
      name: 'no name at all',
      csr: csrObject('csr-13', NODE, makeCsr(NODE, { dnsNames: [] })),
      reason: /no DNS name or IP address/,
    },
    {
      name: 'a request that is not PKCS #10',
      csr: {
        ...csrObject('csr-14', NODE, good),
        spec: { ...csrObject('csr-14', NODE, good).spec, request: 'bm9wZQ==' },
      },
      reason: /cannot be read/,
    },
  ];
  for (const { name, csr, facts, reason } of cases) {
    it(`${reason === undefined ? 'approves' : 'leaves pending'} ${name}`, () => {
      const decision = decideCsr(csr, 'prod', lookup(facts ?? [OURS]));
      if (reason === undefined) {
        assert.deepEqual(decision, {
          kind: 'serving',
          name: csr.metadata.name,
          nodeName: NODE,
          approve: true,
          instanceId: 'i-0aaa',
        });
      } else {
        assert.equal(decision.approve, false);
        assert.match((decision as { reason: string }).reason, reason);
      }
    });
  }

  it('looks only at pending kubelet-serving requests', () => {
    const csr = csrObject('csr-1', NODE, good);
    assert.equal(isPendingServingCsr(csr), true);
    assert.equal(isPendingServingCsr({ ...csr, status: { conditions: [{ type: 'Approved' }] } }), false);
    assert.equal(
      isPendingServingCsr(
        csrObject('csr-1', NODE, good, { signerName: 'kubernetes.io/kube-apiserver-client-kubelet' }),
      ),
      false,
    );
  });
});
