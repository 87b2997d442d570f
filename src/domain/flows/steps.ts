/**
 * A boot flow is a list of named steps read top to bottom. Each step logs what it is doing and
 * how long it took; steps that change anything are `change` steps, which `--dry-run` records in
 * the plan instead of running. Read-only steps (identity, reading state) always run.
 */

import type { Clock } from '../../core/clock.js';
import type { Logger } from '../../core/logger.js';

export interface PlannedChange {
  step: string;
  description: string;
  /** Rendered files (secrets redacted) shown by --dry-run. */
  files?: { path: string; content: string }[];
}

export interface StepTiming {
  step: string;
  durationMs: number;
}

export class Steps {
  readonly planned: PlannedChange[] = [];
  readonly timings: StepTiming[] = [];
  readonly #logger: Logger;
  readonly #clock: Clock;
  readonly dryRun: boolean;

  constructor(logger: Logger, clock: Clock, dryRun: boolean) {
    this.#logger = logger;
    this.#clock = clock;
    this.dryRun = dryRun;
  }

  /** A step that only reads or checks; it runs in dry-run too. */
  async read<T>(step: string, run: () => Promise<T>): Promise<T> {
    return this.#timed(step, run);
  }

  /**
   * A step that changes the machine, the cluster or AWS. In dry-run it is recorded (with the
   * files it would write) and `undefined` is returned.
   */
  async change<T>(
    step: string,
    description: string,
    run: () => Promise<T>,
    files?: () => { path: string; content: string }[],
  ): Promise<T | undefined> {
    if (this.dryRun) {
      this.planned.push({ step, description, files: files?.() });
      this.#logger.info({ step }, `would ${description}`);
      return undefined;
    }
    return this.#timed(step, run);
  }

  async #timed<T>(step: string, run: () => Promise<T>): Promise<T> {
    const startedMs = this.#clock.nowMs();
    this.#logger.debug({ step }, `step ${step}`);
    try {
      return await run();
    } finally {
      this.timings.push({ step, durationMs: this.#clock.nowMs() - startedMs });
    }
  }
}

/** The --dry-run plan as text. */
export function renderPlan(flow: string, planned: readonly PlannedChange[]): string {
  const lines = [`kboot ${flow} would:`];
  planned.forEach((change, index) => {
    lines.push(`  ${index + 1}. ${change.description}`);
  });
  for (const change of planned) {
    for (const file of change.files ?? []) {
      lines.push('', `--- ${file.path} (mode 0600)`, file.content.trimEnd());
    }
  }
  return `${lines.join('\n')}\n`;
}
