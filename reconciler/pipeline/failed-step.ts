// Which step of the pipeline a release stopped at, read from its record (the facts each stage wrote
// as it went), so an event can say it without anyone parsing its error text.
import type { ReleaseRecord } from '../../common/types.js';

export type PipelineStep = 'checkout' | 'build' | 'test';

/** Null when the release did not fail (or was rejected); else the step it stopped at. */
export function failedStep(release: Pick<ReleaseRecord, 'status' | 'version' | 'build' | 'test' | 'artifactPath'>) {
  if (release.status !== 'failed' && release.status !== 'rejected') return null;
  return stepReached(release);
}

/**
 * The last step a run got to: TEST once there is an artifact (a missing TEST script fails there too),
 * BUILD once VERSION matched, else the checkout (git, the tag, VERSION).
 */
export function stepReached(release: Pick<ReleaseRecord, 'version' | 'build' | 'test' | 'artifactPath'>): PipelineStep {
  if (release.test !== null || release.artifactPath !== null) return 'test';
  if (release.build !== null || release.version !== null) return 'build';
  return 'checkout';
}
