import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KubeadmError } from '../../../../src/core/errors.js';
import {
  CERTIFICATES_RENEW_BEFORE_MS,
  certificatesDue,
  firstToExpire,
  parseCertificateExpirations,
} from '../../../../src/domain/kubeadm/cert-expiration.js';

const DAY_MS = 24 * 3_600_000;

function output(certificates: object[], preamble = ''): string {
  return `${preamble}${JSON.stringify(
    {
      kind: 'CertificateExpirationInfo',
      apiVersion: 'output.kubeadm.k8s.io/v1alpha3',
      certificates,
      certificateAuthorities: [
        {
          name: 'ca',
          expirationDate: '2035-12-05T10:00:00Z',
          residualTime: 1,
          externallyManaged: false,
          missing: false,
        },
      ],
    },
    null,
    4,
  )}\n`;
}

const cert = (name: string, expirationDate: string, extra: object = {}) => ({
  name,
  expirationDate,
  residualTime: 100,
  caName: 'ca',
  externallyManaged: false,
  missing: false,
  ...extra,
});

describe('kubeadm certs check-expiration -o json', () => {
  it('reads the certificates after the lines kubeadm prints first, and finds the first to expire', () => {
    const parsed = parseCertificateExpirations(
      output(
        [
          cert('admin.conf', '2026-12-07T10:00:00Z'),
          cert('apiserver', '2026-12-06T09:00:00Z'),
          cert('etcd-peer', '2026-01-01T00:00:00Z', { externallyManaged: true }),
          cert('front-proxy-client', '0001-01-01T00:00:00Z', { missing: true }),
        ],
        '[check-expiration] Reading configuration from the cluster...\n\n',
      ),
    );
    assert.equal(parsed.certificates.length, 4);
    assert.equal(parsed.authorities[0]?.name, 'ca');
    assert.equal(parsed.certificates[3]?.expiresAtMs, undefined);
    // externally managed and missing ones are not kboot's to renew
    assert.deepEqual(firstToExpire(parsed), {
      name: 'apiserver',
      expiresAtMs: Date.parse('2026-12-06T09:00:00Z'),
    });
  });

  it('has no first certificate when none is renewable (external CA, or a node without PKI)', () => {
    assert.equal(firstToExpire(parseCertificateExpirations(output([]))), undefined);
    const nulls = `{"kind":"CertificateExpirationInfo","certificates":null,"certificateAuthorities":null}`;
    assert.deepEqual(parseCertificateExpirations(nulls), { certificates: [], authorities: [] });
  });

  for (const [what, stdout, message] of [
    ['no JSON', 'CERTIFICATE EXPIRES\napiserver ...\n', /has no JSON object/],
    ['broken JSON', '{"kind": ', /is not JSON/],
    ['another kind', '{"kind":"UpgradePlan"}', /field kind/],
    [
      'a bad date',
      output([cert('apiserver', 'soon')]),
      /certificates\[0\] \(apiserver\): expirationDate "soon" is not a time/,
    ],
    ['a nameless entry', output([{ expirationDate: '2026-12-06T09:00:00Z' }]), /field certificates\.0\.name/],
  ] as const) {
    it(`refuses ${what} with a KubeadmError naming what is wrong`, () => {
      assert.throws(
        () => parseCertificateExpirations(stdout),
        (error: unknown) => error instanceof KubeadmError && message.test(error.message),
      );
    });
  }

  it('is due with fewer than 30 days left, not with 30 or more', () => {
    const now = Date.UTC(2026, 11, 7);
    assert.equal(CERTIFICATES_RENEW_BEFORE_MS, 30 * DAY_MS);
    assert.equal(certificatesDue(now + 25 * DAY_MS, now), true);
    assert.equal(certificatesDue(now + 30 * DAY_MS - 1, now), true);
    assert.equal(certificatesDue(now + 30 * DAY_MS, now), false);
    assert.equal(certificatesDue(now + 265 * DAY_MS, now), false);
    assert.equal(certificatesDue(now - DAY_MS, now), true, 'already expired');
    assert.equal(certificatesDue(now + 40 * DAY_MS, now, 45 * DAY_MS), true);
  });
});
