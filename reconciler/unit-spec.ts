// The unit a color runs for a release: the release's artifact and version, the color's port, the
// backend's profile and env root from config, and the color's log file. What plan() compares with
// what is installed, and what a deploy writes.
import type { Color, ReleaseRecord } from '../common/types.js';
import type { Config } from '../config/config.js';
import type { UnitSpec } from '../units/driver.js';

export type SpecConfig = Pick<Config, 'app' | 'colors' | 'root'>;

/** Null for a release without an artifact (not built, or built by a version that kept none). */
export function specFor(config: SpecConfig, color: Color, release: ReleaseRecord): UnitSpec | null {
  if (release.artifactPath === null || release.version === null) return null;
  const { app, colors, root } = config;
  return {
    color,
    tag: release.tag,
    version: release.version,
    executable: release.artifactPath,
    port: colors[color].port,
    deployment: app.run.deployment,
    envRoot: app.run.envRoot,
    logFile: `${root}/logs/${color}.log`,
  };
}
