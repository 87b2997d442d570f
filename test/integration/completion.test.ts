/**
 * Completion scripts sourced in real shells (bash, zsh, fish), each calling the built binary on
 * every TAB exactly as a user's shell would.
 */

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { symlinkSync } from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { kbootBinary, tempDir } from '../support/paths.js';

let binDir: string;

function shellAvailable(shell: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${shell}`], { stdio: 'ignore' }).status === 0;
}

function run(shell: string, script: string): string[] {
  const result = spawnSync(shell, ['-c', script], {
    encoding: 'utf8',
    env: { ...process.env, PATH: `${binDir}:${process.env.PATH}`, HOME: binDir },
    timeout: 30_000,
  });
  assert.equal(result.status, 0, `${shell} failed: ${result.stderr}`);
  return result.stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => line.split('\t')[0] as string);
}

const bash = (line: string): string[] => {
  const words = line.split(' ');
  const quoted = words.map((word) => `'${word}'`).join(' ');
  return run(
    'bash',
    `source <(kboot completion bash); COMP_WORDS=(${quoted}); COMP_CWORD=${words.length - 1}; _kboot_complete; printf '%s\\n' "\${COMPREPLY[@]}"`,
  );
};

const zsh = (line: string): string[] => {
  const words = line.split(' ');
  const quoted = words.map((word) => `'${word}'`).join(' ');
  // compdef and _describe are completion-system builtins; stand-ins record what the script passes.
  return run(
    'zsh',
    `compdef() { :; }; _describe() { print -l -- "\${(@P)4}"; }; source <(kboot completion zsh); words=(${quoted}); CURRENT=${words.length}; _kboot`,
  ).map((line) => line.split(':')[0] as string);
};

const fish = (line: string): string[] => run('fish', `kboot completion fish | source; complete -C '${line}'`);

const CASES: { line: string; expected: string[] }[] = [
  { line: 'kboot jo', expected: ['join-master', 'join-node'] },
  { line: 'kboot cluster ', expected: ['plan', 'create', 'upgrade', 'destroy'] },
  { line: 'kboot ami --arch ', expected: ['x86_64', 'arm64'] },
  { line: 'kboot completion ', expected: ['bash', 'zsh', 'fish'] },
  { line: 'kboot join-node --dr', expected: ['--dry-run'] },
  { line: 'kboot --log-level w', expected: ['warn'] },
  { line: 'kboot iam-policy --role ', expected: ['control-plane', 'worker', 'operator'] },
];

describe('shell completion', () => {
  before(() => {
    binDir = tempDir('kboot-completion-');
    symlinkSync(path.resolve(kbootBinary()), path.join(binDir, 'kboot'));
  });

  for (const [shell, complete] of [
    ['bash', bash],
    ['zsh', zsh],
    ['fish', fish],
  ] as const) {
    describe(shell, { skip: shellAvailable(shell) ? false : `${shell} is not installed` }, () => {
      for (const { line, expected } of CASES) {
        it(`completes "${line}"`, () => {
          assert.deepEqual(complete(line).sort(), [...expected].sort());
        });
      }
    });
  }
});
