/** Kubeconfigs for tests: a kubeadm-style admin.conf with fake (random) credentials. */

import { randomBytes } from 'node:crypto';

export interface AdminConfFixture {
  text: string;
  server: string;
  caData: string;
  certData: string;
  keyData: string;
}

function pemBase64(label: string): string {
  const body = randomBytes(96).toString('base64');
  return Buffer.from(`-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`).toString('base64');
}

/** What kubeadm writes to /etc/kubernetes/admin.conf, with fresh random credentials. */
export function adminConf(
  server = 'https://prod-api-123.elb.us-east-1.amazonaws.com:6443',
): AdminConfFixture {
  const caData = pemBase64('CERTIFICATE');
  const certData = pemBase64('CERTIFICATE');
  const keyData = pemBase64('RSA PRIVATE KEY');
  const text = `apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: ${caData}
    server: ${server}
  name: kubernetes
contexts:
- context:
    cluster: kubernetes
    user: kubernetes-admin
  name: kubernetes-admin@kubernetes
current-context: kubernetes-admin@kubernetes
kind: Config
preferences: {}
users:
- name: kubernetes-admin
  user:
    client-certificate-data: ${certData}
    client-key-data: ${keyData}
`;
  return { text, server, caData, certData, keyData };
}

/** A user's kubeconfig with two other clusters, comments and a field kboot does not know. */
export const OTHER_CLUSTERS_KUBECONFIG = `# my clusters — managed by hand
apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: T1RIRVItQ0EtREFUQQ==
    server: https://dev.example.com:6443
  name: dev
- cluster:
    server: https://staging.example.com
    proxy-url: http://proxy.internal:3128 # via the bastion
    extensions:
    - extension:
        last-update: "2024-05-01"
      name: client.authentication.k8s.io/exec
  name: staging
contexts:
- context:
    cluster: dev
    user: dev-user
    namespace: web
  name: dev
- context:
    cluster: staging
    user: staging-sso
  name: staging
current-context: dev
kind: Config
preferences: {}
users:
- name: dev-user
  user:
    token: dev-user-token-value-1234
- name: staging-sso
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: aws
      args: [eks, get-token, --cluster-name, staging]
      env: null
      interactiveMode: IfAvailable
`;
