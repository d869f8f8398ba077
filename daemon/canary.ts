// What the loop needs for gates.canary, built from the daemon's parts: the judge of each step, how a
// failed rollout makes the desired state say where traffic went back to, and the file a rollout
// survives restarts in.
import path from 'node:path';
import type { ReconcilerStatus } from '../common/status.js';
import type { Config } from '../config/config.js';
import type { DesiredStateService } from '../desired-state/revisions.js';
import type { Rollout, StepJudgement, StepVerdict } from '../reconciler/canary.js';
import { CanaryFile } from '../reconciler/canary-file.js';
import type { CanaryOptions } from '../reconciler/canary-setup.js';

/** The revision a failed canary writes: its source, so history shows who moved traffic back. */
export const CANARY_SOURCE = 'canary';

export function canaryOptions(
  config: Config,
  desired: DesiredStateService,
  status: () => ReconcilerStatus,
): CanaryOptions | undefined {
  if (config.gates.canary === null) return undefined;
  return {
    judge: (step) => readinessJudge(status(), step),
    sendBack: (rollout, verdict) => sendBack(desired, rollout, verdict),
    file: new CanaryFile(path.join(config.root, 'canary.json')),
  };
}

/** A step passes while the new color stayed Ready at its tag, as the loop's probes saw it. */
export function readinessJudge(status: ReconcilerStatus, step: StepJudgement): StepVerdict {
  const seen = status.colors?.[step.to];
  const seconds = Math.round((step.endedAt - step.startedAt) / 1000);
  if (seen?.phase === 'Ready' && seen.runningTag === step.tag) {
    return { result: 'pass', message: `${step.to} stayed Ready at ${step.tag} over ${seconds} s` };
  }
  const why = seen ? `${seen.phase}: ${seen.message}` : 'not observed';
  return { result: 'fail', message: `${step.to} is not Ready at ${step.tag} (${why}) after ${seconds} s` };
}

/** The desired state follows the traffic back: `active` returns to `from`, unless someone moved it since. */
async function sendBack(desired: DesiredStateService, rollout: Rollout, verdict: string): Promise<void> {
  await desired.update((doc) => (doc.active === rollout.to ? { ...doc, active: rollout.from } : doc), {
    source: CANARY_SOURCE,
    author: 'hypervisor',
    events: (revision) => [
      {
        reason: 'CanaryRolledBack',
        actor: 'hypervisor',
        color: rollout.from,
        message:
          `the canary of ${rollout.tag} on ${rollout.to} failed (${verdict}); the desired state sends ` +
          `traffic back to ${rollout.from} (revision ${revision.number})`,
        data: { ...rollout, verdict, revision: revision.number },
      },
    ],
  });
}
