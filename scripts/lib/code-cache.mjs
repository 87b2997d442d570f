// A V8 code cache for the functions a worker join runs, made by a training run at build time.
//
// The SEA's own `useCodeCache` holds only what V8 compiles while it loads the script: top-level
// code and the few functions it compiles eagerly. Every other function (the AWS SDK's clients and
// middleware, zod, yaml, pino, the flows) is compiled on its first call, in every run: most of a
// join's CPU. So the bundle ships as a SEA asset, and the SEA's main is a small loader that
// compiles it with `vm.Script` and a cache made by `script.createCachedData()` at the end of a
// real worker join, which holds every function that join compiled.
//
// The training join runs the arch's own Node binary (qemu for a foreign arch: the cache is V8-
// and arch-specific) against an in-process stand-in for IMDS, DynamoDB and Secrets Manager that
// answers the calls a worker join makes, and a stand-in kubeadm. A run that does not reach
// `kubeadm join` still leaves a valid (smaller) cache; the build then warns.
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { commandFor } from './emulation.mjs';
import { cleanNodeEnv, runProcess } from './proc.mjs';

export const BUNDLE_ASSET = 'kboot.cjs';
export const CACHE_ASSET = 'kboot.cache';
/** Set to anything: the binary says on stderr whether V8 took its code cache. */
export const DEBUG_ENV = 'KBOOT_DEBUG_CODE_CACHE';

/**
 * The SEA's main. A bare `--version` is answered here, before the bundle and its cache load
 * (as src/main.ts does for the bundle run directly). Outside a SEA it is the training run: the
 * bundle comes from KBOOT_CODE_CACHE_BUNDLE and the cache goes to KBOOT_CODE_CACHE_OUT at exit.
 * @param {{ version: string }} options
 */
export function loaderSource({ version }) {
  return `'use strict';
// kboot's single-executable entry, made by scripts/lib/code-cache.mjs: compiles the bundle (a SEA
// asset) with the V8 code cache of a training join, then runs it.
const argv = process.argv;
if (argv.length === 3 && (argv[2] === '--version' || argv[2] === '-V') && process.env.${DEBUG_ENV} === undefined) {
  process.stdout.write(${JSON.stringify(`${version}\n`)});
} else {
  const vm = require('node:vm');
  const sea = require('node:sea');
  let source;
  let cachedData;
  let cacheOut;
  if (sea.isSea()) {
    source = sea.getAsset(${JSON.stringify(BUNDLE_ASSET)}, 'utf8');
    cachedData = new Uint8Array(sea.getRawAsset(${JSON.stringify(CACHE_ASSET)}));
  } else {
    source = require('node:fs').readFileSync(process.env.KBOOT_CODE_CACHE_BUNDLE, 'utf8');
    cacheOut = process.env.KBOOT_CODE_CACHE_OUT;
  }
  const script = new vm.Script('(function (exports, require, module, __filename, __dirname) {' + source + '\\n})', {
    filename: ${JSON.stringify(BUNDLE_ASSET)},
    cachedData,
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  if (process.env.${DEBUG_ENV} !== undefined) {
    const state = cachedData === undefined ? 'none' : script.cachedDataRejected ? 'rejected' : 'accepted';
    process.stderr.write('kboot: code cache ' + state + '\\n');
  }
  if (cacheOut !== undefined) {
    process.on('exit', () => require('node:fs').writeFileSync(cacheOut, script.createCachedData()));
  }
  script.runInThisContext()(module.exports, require, module, __filename, __dirname);
}
`;
}

const CLUSTER = 'training';
const INSTANCE_ID = 'i-0123456789abcdef0';
const HOSTNAME = 'ip-10-0-1-50.ec2.internal';

/** The answers of a worker join's IMDS and AWS calls (the shapes moto and IMDS give). */
function answer(request, body, nowMs) {
  const at = (offsetMs) => new Date(nowMs + offsetMs).toISOString();
  const imds = {
    '/latest/dynamic/instance-identity/document': JSON.stringify({
      accountId: '123456789012',
      architecture: 'x86_64',
      availabilityZone: 'us-east-1a',
      imageId: 'ami-0123456789abcdef0',
      instanceId: INSTANCE_ID,
      instanceType: 't3.medium',
      pendingTime: at(-60_000),
      privateIp: '10.0.1.50',
      region: 'us-east-1',
      version: '2017-09-30',
    }),
    '/latest/meta-data/tags/instance': 'KubernetesCluster\nName\nkboot.io:role',
    '/latest/meta-data/tags/instance/KubernetesCluster': CLUSTER,
    '/latest/meta-data/tags/instance/Name': 'training-worker',
    '/latest/meta-data/tags/instance/kboot.io:role': 'worker',
    '/latest/meta-data/instance-id': INSTANCE_ID,
    '/latest/meta-data/local-hostname': HOSTNAME,
    '/latest/meta-data/hostname': HOSTNAME,
  };
  if (request.method === 'PUT' && request.url === '/latest/api/token') {
    return {
      status: 200,
      type: 'text/plain',
      extra: { 'x-aws-ec2-metadata-token-ttl-seconds': '21600' },
      body: 'training-imds-token',
    };
  }
  if (request.method === 'GET' && request.url in imds) {
    return { status: 200, type: 'text/plain', body: imds[request.url] };
  }
  const target = request.headers['x-amz-target'];
  const json = 'application/x-amz-json-1.1';
  if (target === 'DynamoDB_20120810.GetItem') {
    const s = (value) => ({ S: value });
    const item = {
      pk: s(`cluster#${CLUSTER}`),
      sk: s('meta'),
      schemaVersion: { N: '1' },
      clusterName: s(CLUSTER),
      region: s('us-east-1'),
      apiEndpoint: s(`${CLUSTER}-api.elb.us-east-1.amazonaws.com`),
      podCidr: s('10.244.0.0/16'),
      serviceCidr: s('10.96.0.0/12'),
      kubernetesVersion: s('v1.31.2'),
      secrets: {
        M: {
          join: s(`kboot/${CLUSTER}/join`),
          controlPlane: s(`kboot/${CLUSTER}/control-plane`),
          adminConf: s(`kboot/${CLUSTER}/admin.conf`),
        },
      },
      addons: { M: { cni: s('none'), cloudController: { BOOL: false } } },
      createdBy: s('i-0fedcba9876543210'),
      createdAt: s(at(-600_000)),
      initialized: { M: { by: s('i-0fedcba9876543210'), at: s(at(-500_000)), fence: { N: '1' } } },
      joinMaterial: {
        M: {
          updatedAt: s(at(-500_000)),
          tokenExpiresAt: s(at(86_400_000)),
          certificateKeyExpiresAt: s(at(7_200_000)),
        },
      },
    };
    return { status: 200, type: 'application/x-amz-json-1.0', body: JSON.stringify({ Item: item }) };
  }
  if (target === 'secretsmanager.GetSecretValue') {
    const secret = {
      schemaVersion: 1,
      apiEndpoint: `${CLUSTER}-api.elb.us-east-1.amazonaws.com:6443`,
      // A bootstrap token in kubeadm's format, made up per build: the training join only renders it.
      token: `${randomBytes(3).toString('hex')}.${randomBytes(8).toString('hex')}`,
      tokenExpiresAt: at(86_400_000),
      caCertHashes: [`sha256:${createHash('sha256').update('training').digest('hex')}`],
      kubernetesVersion: 'v1.31.2',
      updatedAt: at(-500_000),
    };
    const name = JSON.parse(body || '{}').SecretId ?? `kboot/${CLUSTER}/join`;
    return {
      status: 200,
      type: json,
      body: JSON.stringify({
        ARN: `arn:aws:secretsmanager:us-east-1:123456789012:secret:${name}-AbCdEf`,
        Name: name,
        VersionId: 'e4a85916-5b3e-4aca-a638-af6cada733c1',
        VersionStages: ['AWSCURRENT'],
        CreatedDate: Math.floor(nowMs / 1000) - 500,
        SecretString: JSON.stringify(secret),
      }),
    };
  }
  if (target !== undefined) {
    return {
      status: 400,
      type: json,
      body: JSON.stringify({ __type: 'ValidationException', message: 'not in training' }),
    };
  }
  return { status: 404, type: 'text/plain', body: 'Not Found' };
}

function startStandIn() {
  const server = http.createServer((request, response) => {
    const chunks = [];
    request.on('data', (chunk) => chunks.push(chunk));
    request.on('end', () => {
      const reply = answer(request, Buffer.concat(chunks).toString('utf8'), Date.now());
      response.writeHead(reply.status, {
        'content-type': reply.type,
        'content-length': Buffer.byteLength(reply.body),
        'x-amzn-requestid': 'training',
        ...reply.extra,
      });
      response.end(reply.body);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

const FAKE_KUBEADM = `#!/bin/sh
# kubeadm for the code-cache training join: answers \`version -o short\`, records \`join\`.
case "$1" in
  version) echo v1.31.2 ;;
  join) echo joined >"$KBOOT_TRAINING_MARKER" ;;
esac
exit 0
`;

/**
 * Runs the training join and writes the cache.
 * @param {{ runner: import('./emulation.mjs').Runner, nodeBinary: string, loader: string,
 *   bundle: string, cacheFile: string }} options
 * @returns {Promise<{ bytes: number, joined: boolean, ms: number, output: string }>}
 */
export async function trainCodeCache({ runner, nodeBinary, loader, bundle, cacheFile }) {
  const scratch = mkdtempSync(path.join(tmpdir(), 'kboot-code-cache-'));
  const server = await startStandIn();
  try {
    const endpoint = `http://127.0.0.1:${server.address().port}`;
    const kubeadm = path.join(scratch, 'kubeadm');
    writeFileSync(kubeadm, FAKE_KUBEADM);
    chmodSync(kubeadm, 0o755);
    const marker = path.join(scratch, 'joined');
    rmSync(cacheFile, { force: true });
    // Nothing of the builder's own AWS or kboot settings reaches the training join.
    const inherited = Object.fromEntries(
      Object.entries(cleanNodeEnv()).filter(([name]) => !/^(AWS_|KBOOT_)/.test(name)),
    );
    const env = {
      ...inherited,
      KBOOT_CODE_CACHE_BUNDLE: bundle,
      KBOOT_CODE_CACHE_OUT: cacheFile,
      KBOOT_TRAINING_MARKER: marker,
      // kubeadm gets a minimal environment; the training kubeadm needs its marker's path.
      KBOOT_CHILD_ENV: 'KBOOT_TRAINING_MARKER',
      AWS_ENDPOINT_URL: endpoint,
      AWS_EC2_METADATA_SERVICE_ENDPOINT: endpoint,
      AWS_EC2_METADATA_DISABLED: 'false',
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'training',
      AWS_SECRET_ACCESS_KEY: 'training',
      AWS_SESSION_TOKEN: 'training',
      KBOOT_ROOT: path.join(scratch, 'root'),
      KBOOT_TABLE: 'kboot',
      KBOOT_KUBEADM: kubeadm,
      KBOOT_POLL_MS: '200',
      KBOOT_LOG_FORMAT: 'json',
    };
    const { command, args } = commandFor(runner, nodeBinary, [
      loader,
      'boot',
      '--output',
      'json',
      // A stand-in that stops satisfying the flow ends the run in a minute, not kboot's 30 min.
      '--wait-timeout',
      '60s',
    ]);
    const result = await runProcess(command, args, { cwd: scratch, env, timeoutMs: 5 * 60_000 });
    if (!existsSync(cacheFile)) {
      throw new Error(
        `the code-cache training run (${runner.describe}) wrote no cache; it exited ${result.code}:\n` +
          `${result.stderr.trim().split('\n').slice(-10).join('\n')}`,
      );
    }
    return {
      bytes: statSync(cacheFile).size,
      joined: existsSync(marker) && readFileSync(marker, 'utf8').trim() === 'joined',
      ms: result.elapsedMs,
      output: `${result.stdout}\n${result.stderr}`.trim().split('\n').slice(-10).join('\n'),
    };
  } finally {
    server.close();
    rmSync(scratch, { recursive: true, force: true });
  }
}
