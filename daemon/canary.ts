// What the loop needs for gates.canary, built from the daemon's parts: the judge of each step (the
// verification gate's judge over the proxy's measurements of the new color), how a
// failed rollout makes the desired state say where traffic went back to, and the file a rollout
// survives restarts in.
import path from 'node:path';
import type { ReconcilerStatus } from '../common/status.js';
import type { Config } from '../config/config.js';
import type { DesiredStateService } from '../desired-state/revisions.js';
import type { TrafficReadings } from '../common/traffic.js';
import type { Rollout } from '../reconciler/canary.js';
import { DEFAULT_STEP_THRESHOLDS, TrafficStepJudge } from '../reconciler/canary-judge.js';
import { CanaryFile } from '../reconciler/canary-file.js';
import type { CanaryOptions } from '../reconciler/canary-setup.js';

/** The revision a failed canary writes: its source, so history shows who moved traffic back. */
export const CANARY_SOURCE = 'canary';

export function canaryOptions(
  config: Config,
  desired: DesiredStateService,
  status: () => ReconcilerStatus,
  traffic: Pick<TrafficReadings, 'totals'>,
): CanaryOptions | undefined {
  if (config.gates.canary === null) return undefined;
  // Each step is held against gates.verify's thresholds, or their documented defaults without that gate.
  const steps = new TrafficStepJudge(traffic, config.gates.verify ?? DEFAULT_STEP_THRESHOLDS, status);
  return {
    judge: (step) => steps.judge(step),
    stepStarted: (step) => steps.started(step),
    sendBack: (rollout, verdict) => sendBack(desired, rollout, verdict),
    file: new CanaryFile(path.join(config.root, 'canary.json')),
  };
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
