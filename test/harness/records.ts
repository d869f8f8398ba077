// Sample records for tests that need a well-formed one and care about one or two fields: a unit
// spec for a color (v26.11.27.0 under /opt/hv, as a host would install it) and a new release.
import type { Color, ReleaseRecord } from '../../common/types.js';
import type { UnitSpec } from '../../units/driver.js';

/** A unit spec for `color`; its paths name nothing on disk unless the test overrides them. */
export function sampleSpec(color: Color, overrides: Partial<UnitSpec> = {}): UnitSpec {
  return {
    color,
    tag: 'v26.11.27.0',
    version: '26.11.27.0',
    executable: '/opt/hv/artifacts/v26.11.27.0/26.11.27.0',
    port: color === 'blue' ? 8001 : 8002,
    deployment: 'prod',
    envRoot: '/var/openhack/env',
    logFile: `/var/openhack/logs/${color}.log`,
    ...overrides,
  };
}

/** A release as the intake records one, before any build: pending, no steps, no artifact. */
export function pendingRelease(
  tag: string,
  overrides: Partial<ReleaseRecord> = {},
): Omit<ReleaseRecord, 'createdAt' | 'updatedAt'> {
  return {
    tag,
    sha: 'a1b2c3',
    version: tag.slice(1),
    author: 'ana',
    status: 'pending',
    error: null,
    build: null,
    test: null,
    artifactPath: null,
    ...overrides,
  };
}
