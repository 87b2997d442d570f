/**
 * A boot's timeline, from the runner's step timings: when the instance launched (IMDS
 * pendingTime), when kboot started, and the moments that matter to someone reading a slow boot —
 * identity known, `initialized` seen, kubeadm started, joined. Logged as one `boot timeline` line
 * at the end of every boot, and kept with a control-plane member's record for `kboot status`.
 */

import type { Milestone, StepTiming } from './step.js';

/** Step names whose start is "kubeadm started". */
const KUBEADM_STEPS = new Set(['kubeadm-init', 'kubeadm-join']);

export interface BootTimeline {
  /** The instance's launch (IMDS pendingTime), when known. */
  launchedAt: string | null;
  /** When kboot's flow started. */
  startedAt: string;
  /** From launch to the flow's start; null when the launch time is unknown. */
  launchToStartMs: number | null;
  /**
   * Each moment, in ms from the launch (from the flow's start when the launch time is unknown):
   * identity, initialized-seen, kubeadm-start, joined.
   */
  milestones: Record<string, number>;
  /** Every step: from the flow's start, and how long it took. */
  steps: Pick<StepTiming, 'step' | 'atMs' | 'durationMs' | 'outcome'>[];
}

export interface TimelineInput {
  startedAtMs: number;
  timings: readonly StepTiming[];
  milestones: readonly Milestone[];
  launchedAtMs: number | undefined;
  /** The flow got to its end (joined or initialized). */
  finished: boolean;
}

export function bootTimeline(input: TimelineInput): BootTimeline {
  const { startedAtMs, timings, launchedAtMs } = input;
  const offsetMs = launchedAtMs === undefined ? 0 : startedAtMs - launchedAtMs;
  const moments: Record<string, number> = {};
  const at = (name: string, flowMs: number | undefined): void => {
    if (flowMs !== undefined && moments[name] === undefined) moments[name] = offsetMs + flowMs;
  };
  const identity = timings.find((timing) => timing.step === 'identity' && timing.outcome === 'done');
  at('identity', identity === undefined ? undefined : identity.atMs + identity.durationMs);
  for (const milestone of input.milestones) at(milestone.milestone, milestone.atMs);
  at(
    'kubeadm-start',
    timings.find((timing) => KUBEADM_STEPS.has(timing.step) && timing.outcome !== 'skipped')?.atMs,
  );
  const last = timings.at(-1);
  if (input.finished && last !== undefined) at('joined', last.atMs + last.durationMs);
  return {
    launchedAt: launchedAtMs === undefined ? null : new Date(launchedAtMs).toISOString(),
    startedAt: new Date(startedAtMs).toISOString(),
    launchToStartMs: launchedAtMs === undefined ? null : offsetMs,
    milestones: moments,
    steps: timings.map(({ step, atMs, durationMs, outcome }) => ({ step, atMs, durationMs, outcome })),
  };
}

/** "identity 1.2s, initialized-seen 40s, kubeadm-start 41s, joined 1m30s (from launch)". */
export function describeTimeline(
  timeline: Pick<BootTimeline, 'milestones' | 'launchToStartMs'>,
  format: (ms: number) => string,
): string {
  const parts = Object.entries(timeline.milestones).map(([name, ms]) => `${name} ${format(ms)}`);
  const from = timeline.launchToStartMs === null ? 'from kboot start' : 'from launch';
  return parts.length === 0 ? 'no steps done' : `${parts.join(', ')} (${from})`;
}
