// Releases from GitHub, as the daemon wires them: the webhook intake and its routes, the
// auto-stage/promote policy that hears each pass, and retention after each build that succeeded.
import type { Router as ExpressRouter } from 'express';
import { readWebhookSecret } from '../api/github-signature.js';
import { webhookRoutes } from '../api/routes/webhooks.js';
import type { LogArchive } from '../archive/archive.js';
import type { Config } from '../config/config.js';
import type { DesiredStateService } from '../desired-state/revisions.js';
import type { Loop } from '../reconciler/loop.js';
import type { ReleasePipeline } from '../reconciler/pipeline.js';
import { ReleasePolicy } from '../reconciler/policy.js';
import { ReleaseIntake } from '../reconciler/release-intake.js';
import { Retention } from '../reconciler/retention.js';
import { EventLog } from '../store/event-log.js';
import type { Store } from '../store/store.js';
import type { UnitDriver } from '../units/driver.js';

export interface ReleaseParts {
  store: Store;
  driver: UnitDriver;
  desired: DesiredStateService;
  builder: ReleasePipeline;
  reconciler: Loop;
  configRepo: { pull(): void };
  archive: LogArchive | null;
}

/** Releases from GitHub: the webhook intake, the auto-stage/promote policy and retention around the pipeline. */
export async function releaseFlow(
  config: Config,
  parts: ReleaseParts,
  closers: Array<() => Promise<unknown>>,
): Promise<{ webhooks: ExpressRouter; intake: ReleaseIntake; policy: ReleasePolicy; retention: Retention }> {
  const { store, driver, desired, builder, reconciler } = parts;
  const secret = config.github.secretFile === null ? null : await readWebhookSecret(config.github.secretFile);
  const intake = new ReleaseIntake({
    store,
    tagPattern: config.app.tagPattern,
    mirror: builder.mirror,
    builds: reconciler,
  });
  const policy = new ReleasePolicy({ policy: config.policy, desired, store });
  const retentionEvents = new EventLog(store, 'retention');
  const retention = new Retention({
    root: config.root,
    keep: config.policy.keepReleases,
    store,
    driver,
    builds: () => reconciler.builds(),
    event: (event) => retentionEvents.record(event),
    archive: parts.archive ?? undefined,
  });
  closers.unshift(
    () => intake.close(),
    () => policy.close(),
  );
  reconciler.onBuildFinished((_tag, outcome) => {
    // A new artifact is the only thing that can push an old one out.
    if (outcome.status === 'succeeded')
      retention
        .prune()
        .catch((err: unknown) => console.error(`hypervisor: retention failed: ${(err as Error).message}`));
  });
  reconciler.onPassFinished((result) => policy.passFinished(result.status));
  const repository = config.desired.git?.repository ?? null;
  const configRepo = repository === null ? null : { repository, pull: () => parts.configRepo.pull() };
  const webhooks = webhookRoutes({
    secret,
    repository: config.github.repository,
    maxBodyBytes: config.github.maxBodyBytes,
    intake,
    store,
    configRepo,
  });
  return { webhooks, intake, policy, retention };
}
