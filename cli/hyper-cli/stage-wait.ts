// Following a staged tag until its color is Ready: clone -> build -> test -> start -> ready, read
// from the release record and the status that the loop keeps writing. Polling, with a deadline.
import { setTimeout as delay } from 'node:timers/promises';
import type { Color, ReleaseRecord } from '../../common/types.js';
import type { StatusAnswer } from '../../api/wire.js';
import type { ColorReport } from '../../common/status.js';
import { ApiError, type ApiClient } from '../client.js';
import { CliError } from '../output.js';

export const STAGE_STEPS = ['clone', 'build', 'test', 'start', 'ready'] as const;
export type StageStep = (typeof STAGE_STEPS)[number];

const POLL_MS = 500;

export interface StageProgress {
  step: StageStep;
  /** What is happening in that step, for people. */
  detail: string;
  at: string;
}

export interface WaitArgs {
  tag: string;
  color: Color;
  timeoutMs: number;
  /** Called once per step reached, in order (a step passed between two polls is reported too). */
  onStep: (progress: StageProgress) => void;
}

export async function waitUntilReady(
  client: ApiClient,
  args: WaitArgs,
): Promise<{ steps: StageProgress[]; color: ColorReport; release: ReleaseRecord | null }> {
  const started = Date.now();
  const steps: StageProgress[] = [];
  let last: { step: StageStep; report: ColorReport | undefined } = { step: 'clone', report: undefined };
  while (Date.now() - started < args.timeoutMs) {
    const [followed, status] = await Promise.all([releaseOf(client, args.tag), client.get<StatusAnswer>('/status')]);
    const report = status.status.colors?.[args.color];
    refuseHopeless(args, followed, status, report);
    const release = followed?.record ?? null;
    const step = stepOf(args.tag, release, report);
    for (let i = steps.length; i <= STAGE_STEPS.indexOf(step); i++) {
      const progress = {
        step: STAGE_STEPS[i]!,
        detail: i === STAGE_STEPS.indexOf(step) ? detailOf(args, step, release, report, started) : 'done',
        at: new Date().toISOString(),
      };
      steps.push(progress);
      args.onStep(progress);
    }
    if (step === 'ready') return { steps, color: report!, release };
    last = { step, report };
    await delay(POLL_MS);
  }
  const where = last.report ? ` (${args.color} ${last.report.phase}: ${last.report.message})` : '';
  throw new CliError(
    4,
    'not_ready',
    `${args.tag} is not Ready on ${args.color} after ${Math.round(args.timeoutMs / 1000)} s, still ` +
      `at ${last.step}${where}; ` +
      `keep watching with hyper-cli status, or wait again with hyper-cli stage ${args.tag} --color ` +
      `${args.color} --wait`,
  );
}

/** The record, and the command that shows its log (the API knows which log that is). */
interface Followed {
  record: ReleaseRecord;
  logCommand: string | null;
}

async function releaseOf(client: ApiClient, tag: string): Promise<Followed | null> {
  try {
    const answer = await client.get<{ release: ReleaseRecord; logCommand: string | null }>(
      `/releases/${encodeURIComponent(tag)}`,
    );
    return { record: answer.release, logCommand: answer.logCommand };
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return null; // not picked up by the loop yet
    throw err;
  }
}

/** The furthest step the evidence shows; a release built earlier goes straight to start. */
function stepOf(tag: string, release: ReleaseRecord | null, report: ColorReport | undefined): StageStep {
  if (report?.phase === 'Ready' && report.runningTag === tag && report.desiredTag === tag) return 'ready';
  switch (release?.status) {
    case 'succeeded':
      return 'start';
    case 'testing':
      return 'test';
    case 'building':
      return release.sha ? 'build' : 'clone';
    default:
      return 'clone';
  }
}

function detailOf(
  args: WaitArgs,
  step: StageStep,
  release: ReleaseRecord | null,
  report: ColorReport | undefined,
  started: number,
): string {
  switch (step) {
    case 'clone':
      return `fetching ${args.tag} and checking out its commit`;
    case 'build':
      return `building ${release?.sha?.slice(0, 12) ?? args.tag}`;
    case 'test':
      return `testing ${args.tag} (hyper-cli logs ${args.tag} --test --follow)`;
    case 'start':
      return `starting ${args.color} on port ${report?.port ?? '?'}`;
    case 'ready':
      return `${args.color} runs ${args.tag}, Ready after ${((Date.now() - started) / 1000).toFixed(1)} s`;
  }
}

/** Ends the wait when it cannot succeed: a failed release or color, another tag staged, a paused loop. */
function refuseHopeless(
  args: WaitArgs,
  followed: Followed | null,
  status: StatusAnswer,
  report: ColorReport | undefined,
): void {
  const release = followed?.record ?? null;
  const desired = status.revision?.doc.colors[args.color].tag ?? null;
  if (desired !== args.tag) {
    throw new CliError(
      4,
      'superseded',
      `${args.color} was given ${desired ?? 'no tag'} meanwhile (revision ` +
        `${status.revision?.number ?? '-'}); stage ${args.tag} again if you still want it`,
    );
  }
  if (status.status.paused) {
    throw new CliError(
      4,
      'paused',
      `the loop is paused, so ${args.tag} will not be built or started: hyper-cli resume, then wait again`,
    );
  }
  if (release && (release.status === 'failed' || release.status === 'rejected')) {
    const log = followed?.logCommand ? `; read ${followed.logCommand}` : '';
    throw new CliError(
      1,
      `release_${release.status}`,
      `${args.tag} ${release.status}: ${release.error ?? 'no reason recorded'}${log}`,
    );
  }
  if (report?.phase === 'Failed' && report.desiredTag === args.tag) {
    throw new CliError(
      1,
      'color_failed',
      `${args.color} Failed at ${args.tag}: ${report.message}; on the host, hyperctl logs --color ` +
        `${args.color} shows what the backend said`,
    );
  }
}
