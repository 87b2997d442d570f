/**
 * COMMAND_DEFAULTS is the one source of the command options' defaults: every entry belongs to an
 * option of that command, that option's help shows it, and the handlers parse the same entries
 * when the flag is left out.
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Command } from 'commander';
import { COMMAND_DEFAULTS } from '../../../src/cli/defaults.js';
import { flowSettings } from '../../../src/cli/flow-deps.js';
import { leaveOptionsFrom } from '../../../src/cli/handlers/leave.js';
import { rotateOptionsFrom } from '../../../src/cli/handlers/rotate.js';
import { buildProgram } from '../../../src/cli/program.js';
import { parseDurationMs } from '../../../src/core/duration.js';

const program = buildProgram({ signal: new AbortController().signal });

/** 'kboot' is the program (its global options); 'config check' a subcommand. */
function commandAt(path: string): Command {
  if (path === 'kboot') return program;
  let command = program;
  for (const name of path.split(' ')) {
    const sub = command.commands.find((candidate) => candidate.name() === name);
    assert.ok(sub !== undefined, `no command "${path}"`);
    command = sub;
  }
  return command;
}

describe('command defaults', () => {
  for (const [path, defaults] of Object.entries(COMMAND_DEFAULTS)) {
    it(`kboot ${path === 'kboot' ? '' : `${path} `}--help shows the table's defaults`, () => {
      const command = commandAt(path);
      const help = command.helpInformation();
      for (const [name, value] of Object.entries(defaults)) {
        const option = command.options.find((candidate) => candidate.attributeName() === name);
        assert.ok(option !== undefined, `"${path}" has an option for the default "${name}"`);
        const described = command.createHelp().optionDescription(option);
        assert.ok(
          described.includes(`default: ${value})`) ||
            described.includes(`default: ${JSON.stringify(value)})`),
          `${option.long}: "${described}" shows the default ${value}`,
        );
        assert.ok(help.includes(option.flags), `${option.flags} is in the help`);
      }
    });
  }

  it('shows the node config path as the --config default of every command that reads it', () => {
    const withConfig = Object.entries(COMMAND_DEFAULTS).filter(([, defaults]) => 'config' in defaults);
    assert.deepEqual(withConfig.map(([path]) => path).sort(), [
      'boot',
      'bootstrap-master',
      'cleanup',
      'config check',
      'join-master',
      'join-node',
      'leave',
      'rotate',
    ]);
    for (const [path] of withConfig) {
      const command = commandAt(path);
      const option = command.options.find((candidate) => candidate.long === '--config');
      assert.ok(option !== undefined, `${path} has --config`);
      assert.match(
        command.createHelp().optionDescription(option),
        /\(default: "\/etc\/kboot\/config\.yaml"\)$/,
      );
    }
  });

  it('are what the handlers parse when the flags are left out', () => {
    const ms = parseDurationMs;
    assert.deepEqual(leaveOptionsFrom({}), {
      hookName: COMMAND_DEFAULTS.leave.lifecycleHook,
      drainTimeoutMs: ms(COMMAND_DEFAULTS.leave.drainTimeout),
      pollMs: ms(COMMAND_DEFAULTS.leave.pollInterval),
    });
    assert.deepEqual(rotateOptionsFrom({}), {
      tokenTtlMs: ms(COMMAND_DEFAULTS.rotate.tokenTtl),
      tokenRenewBeforeMs: ms(COMMAND_DEFAULTS.rotate.renewBefore),
      certificateKeyRenewBeforeMs: ms(COMMAND_DEFAULTS.rotate.certificateKeyRenewBefore),
      joinWaitMs: ms(COMMAND_DEFAULTS.rotate.waitTimeout),
    });
    const settings = flowSettings({}, {}, {});
    assert.equal(settings.waitTimeoutMs, ms(COMMAND_DEFAULTS.boot.waitTimeout));
    assert.equal(settings.tokenTtlMs, ms(COMMAND_DEFAULTS.rotate.tokenTtl));
  });
});
