/**
 * A real etcd cluster for integration tests: Debian's `etcd` (etcd-server), three members on
 * loopback with client and peer TLS, certificates made with openssl from a CA (the simulated
 * cluster's own etcd CA when given, as kubeadm's stacked etcd uses `pki/etcd/ca.*`, else a new
 * one). Each member listens on etcd's own ports (2379, 2380) of a loopback address 127.a.b.c of
 * its own; its name is the one given (the simulated instance's private DNS name, as kubeadm names
 * members after their node).
 *
 * `etcdMissing()` says why the tests must skip (no `etcd` or `openssl` on PATH); .ci/run
 * installs etcd-server and etcd-client.
 */

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import path from 'node:path';
import { tempDir } from './paths.js';

export interface EtcdNode {
  name: string;
  clientUrl: string;
  peerUrl: string;
  dataDir: string;
  process: ChildProcess | undefined;
}

export interface EtcdClientFiles {
  caPath: string;
  certPath: string;
  keyPath: string;
}

function onPath(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/** Why real-etcd tests cannot run here, or undefined when they can. */
export function etcdMissing(): string | undefined {
  if (!onPath('etcd')) return 'etcd is not installed (apt-get install etcd-server etcd-client; .ci/run does)';
  if (!onPath('openssl')) return 'openssl is not installed';
  return undefined;
}

function openssl(args: string[], cwd: string): void {
  const result = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`openssl ${args[0]} failed: ${result.stderr}`);
}

/** An EC P-256 key and a certificate signed by the CA, with the given SANs and key usage. */
function issue(dir: string, name: string, cn: string, sans: string[], usage: string): void {
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`], dir);
  openssl(['req', '-new', '-key', `${name}.key`, '-subj', `/CN=${cn}`, '-out', `${name}.csr`], dir);
  const ext = [
    'basicConstraints=CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    `extendedKeyUsage=${usage}`,
    ...(sans.length > 0 ? [`subjectAltName=${sans.join(',')}`] : []),
  ].join('\n');
  writeFileSync(path.join(dir, `${name}.ext`), `${ext}\n`);
  openssl(
    [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.crt`,
    ],
    dir,
  );
}

/** The first three octets of loopback addresses no other running test cluster is likely to use. */
function loopbackBase(): string {
  const octet = () => 1 + Math.floor(Math.random() * 254);
  return `127.${octet()}.${octet()}`;
}

export class EtcdCluster {
  readonly dir: string;
  readonly nodes: EtcdNode[] = [];
  readonly client: EtcdClientFiles;
  readonly #pki: string;

  private constructor(dir: string) {
    this.dir = dir;
    this.#pki = path.join(dir, 'pki');
    this.client = {
      caPath: path.join(this.#pki, 'ca.crt'),
      certPath: path.join(this.#pki, 'client.crt'),
      keyPath: path.join(this.#pki, 'client.key'),
    };
  }

  /**
   * Starts one member per name and waits until the cluster answers. `ca` (PEM files) signs the
   * members' certificates; without it a new CA is made.
   */
  static async start(
    names: readonly string[],
    ca?: { certPath: string; keyPath: string },
  ): Promise<EtcdCluster> {
    const cluster = new EtcdCluster(tempDir('kboot-etcd-'));
    const pki = cluster.#pki;
    mkdirSync(pki, { recursive: true });
    if (ca === undefined) {
      openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ca.key'], pki);
      openssl(
        ['req', '-x509', '-new', '-key', 'ca.key', '-subj', '/CN=etcd-ca', '-days', '2', '-out', 'ca.crt'],
        pki,
      );
    } else {
      copyFileSync(ca.certPath, path.join(pki, 'ca.crt'));
      copyFileSync(ca.keyPath, path.join(pki, 'ca.key'));
    }
    issue(pki, 'client', 'kube-apiserver-etcd-client', [], 'clientAuth');
    // etcd's own ports (2379 client, 2380 peer) on loopback addresses of this cluster's own: a
    // port picked free and then bound later can be taken meanwhile by an outgoing connection
    // (ports above 32767 are the kernel's ephemeral range); 2379/2380 on 127.a.b.c never are.
    const base = loopbackBase();
    names.forEach((name, index) => {
      const address = `${base}.${index + 1}`;
      issue(
        pki,
        name,
        name,
        ['DNS:localhost', `DNS:${name}`, `IP:${address}`, 'IP:127.0.0.1'],
        'serverAuth,clientAuth',
      );
      cluster.nodes.push({
        name,
        clientUrl: `https://${address}:2379`,
        peerUrl: `https://${address}:2380`,
        dataDir: path.join(cluster.dir, `${name}.etcd`),
        process: undefined,
      });
    });
    for (const node of cluster.nodes) cluster.#spawn(node, 'new');
    try {
      await cluster.waitHealthy(cluster.nodes.length);
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  #spawn(
    node: EtcdNode,
    state: 'new' | 'existing',
    extraArgs: readonly string[] = [],
    initialCluster = this.nodes.map((n) => `${n.name}=${n.peerUrl}`).join(','),
  ): void {
    const pki = this.#pki;
    const child = spawn(
      'etcd',
      [
        `--name=${node.name}`,
        `--data-dir=${node.dataDir}`,
        `--listen-client-urls=${node.clientUrl}`,
        `--advertise-client-urls=${node.clientUrl}`,
        `--listen-peer-urls=${node.peerUrl}`,
        `--initial-advertise-peer-urls=${node.peerUrl}`,
        `--initial-cluster=${initialCluster}`,
        `--initial-cluster-state=${state}`,
        '--initial-cluster-token=kboot-test',
        '--client-cert-auth=true',
        `--trusted-ca-file=${pki}/ca.crt`,
        `--cert-file=${pki}/${node.name}.crt`,
        `--key-file=${pki}/${node.name}.key`,
        '--peer-client-cert-auth=true',
        `--peer-trusted-ca-file=${pki}/ca.crt`,
        `--peer-cert-file=${pki}/${node.name}.crt`,
        `--peer-key-file=${pki}/${node.name}.key`,
        '--heartbeat-interval=50',
        '--election-timeout=500',
        '--logger=zap',
        '--log-level=error',
        ...extraArgs,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    child.on('exit', (code, signal) => {
      if (node.process === child) node.process = undefined;
      if (code !== 0 && signal === null)
        process.stderr.write(`etcd ${node.name} exited ${code}: ${stderr}\n`);
    });
    node.process = child;
  }

  node(name: string): EtcdNode {
    const node = this.nodes.find((n) => n.name === name);
    if (node === undefined) throw new Error(`no etcd member named ${name}`);
    return node;
  }

  /** Stops one member's process (its instance died, or only etcd did). */
  async stopMember(name: string): Promise<void> {
    const node = this.node(name);
    const child = node.process;
    if (child === undefined) return;
    node.process = undefined;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }

  /**
   * Stops a member and starts it again on its data (as the kubelet does when a static Pod's
   * manifest changes), with `extraArgs` (e.g. --force-new-cluster).
   */
  async restartMember(name: string, extraArgs: readonly string[] = []): Promise<void> {
    await this.stopMember(name);
    this.#spawn(this.node(name), 'existing', extraArgs);
  }

  /**
   * Adds a new member through `via` (a running member's client URL) and starts it, as kubeadm join
   * does: member add, then etcd with the member list etcd answered and state `existing`.
   */
  async addMember(name: string, via: string): Promise<EtcdNode> {
    const first = this.nodes[0];
    if (first === undefined) throw new Error('no etcd member to derive an address from');
    const base = new URL(first.clientUrl).hostname.split('.').slice(0, 3).join('.');
    const address = `${base}.${this.nodes.length + 1}`;
    issue(
      this.#pki,
      name,
      name,
      ['DNS:localhost', `DNS:${name}`, `IP:${address}`, 'IP:127.0.0.1'],
      'serverAuth,clientAuth',
    );
    const node: EtcdNode = {
      name,
      clientUrl: `https://${address}:2379`,
      peerUrl: `https://${address}:2380`,
      dataDir: path.join(this.dir, `${name}.etcd`),
      process: undefined,
    };
    this.nodes.push(node);
    // etcd adds a voting member only once every member has been connected for 5 s.
    const deadline = Date.now() + 20_000;
    let added: { members?: { name?: string; peerURLs?: string[] }[] };
    for (;;) {
      try {
        added = (await this.post(via, '/v3/cluster/member/add', {
          peerURLs: [node.peerUrl],
        })) as typeof added;
        break;
      } catch (error) {
        if (!/unhealthy cluster/.test(String(error)) || Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
    const initialCluster = (added.members ?? [])
      .map((m) => `${m.name === '' || m.name === undefined ? name : m.name}=${m.peerURLs?.[0]}`)
      .join(',');
    this.#spawn(node, 'existing', [], initialCluster);
    return node;
  }

  /**
   * Until `name` sees no leader: the others are gone and etcd noticed (an election timeout after
   * a leader's last heartbeat, CheckQuorum for a leader).
   */
  async waitLeaderless(name: string, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const status = (await this.post(this.node(name).clientUrl, '/v3/maintenance/status')) as {
        leader?: string;
      };
      if (status.leader === undefined || status.leader === '0') return;
      if (Date.now() > deadline) throw new Error(`${name} still sees leader ${status.leader}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** A POST to the JSON gateway of one member with the client certificate (test-side view). */
  async post(clientUrl: string, route: string, body: unknown = {}): Promise<unknown> {
    const url = new URL(route, clientUrl);
    const text = await new Promise<string>((resolve, reject) => {
      const req = request(
        url,
        {
          method: 'POST',
          ca: readFileSync(this.client.caPath),
          cert: readFileSync(this.client.certPath),
          key: readFileSync(this.client.keyPath),
          headers: { 'content-type': 'application/json' },
          timeout: 3000,
        },
        (res) => {
          let data = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            data += chunk;
          });
          res.on('end', () =>
            (res.statusCode ?? 0) < 300 ? resolve(data) : reject(new Error(`${res.statusCode}: ${data}`)),
          );
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', reject);
      req.end(JSON.stringify(body));
    });
    return JSON.parse(text);
  }

  /** Member names as a running member sees them. */
  async memberNames(): Promise<string[]> {
    const live = this.nodes.find((n) => n.process !== undefined);
    if (live === undefined) throw new Error('no etcd member is running');
    const out = (await this.post(live.clientUrl, '/v3/cluster/member/list')) as {
      members?: { name?: string }[];
    };
    return (out.members ?? []).map((m) => m.name ?? '').sort();
  }

  async waitHealthy(expectedMembers: number, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    while (Date.now() < deadline) {
      try {
        const live = this.nodes.find((n) => n.process !== undefined);
        if (live !== undefined) {
          await this.post(live.clientUrl, '/v3/kv/put', { key: 'a2Jvb3Q=', value: 'b2s=' });
          if ((await this.memberNames()).length === expectedMembers) return;
        }
      } catch (error) {
        last = error;
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error(`etcd cluster not healthy after ${timeoutMs} ms: ${String(last)}`);
  }

  /**
   * Writes what kboot reads on a control-plane instance under `root`: the etcd CA and the
   * apiserver-etcd-client certificate and key kubeadm writes.
   */
  installClientFiles(root: string): void {
    const pki = path.join(root, 'etc', 'kubernetes', 'pki');
    mkdirSync(path.join(pki, 'etcd'), { recursive: true });
    copyFileSync(this.client.caPath, path.join(pki, 'etcd', 'ca.crt'));
    copyFileSync(this.client.certPath, path.join(pki, 'apiserver-etcd-client.crt'));
    copyFileSync(this.client.keyPath, path.join(pki, 'apiserver-etcd-client.key'));
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((node) => this.stopMember(node.name)));
    rmSync(this.dir, { recursive: true, force: true });
  }
}
