// What `hyper-cli config set` changes in a running daemon: the release policy and retention take the
// new `policy` at once; a changed `notify` list restarts the notifier with the new targets (their
// channels opened first: a secret file that cannot be read refuses the change); `gates` is kept in
// the running config for the parts that read it.
import type { NotifyTestAnswer } from '../api/wire.js';
import type { Config } from '../config/config.js';
import type { ConfigSource } from '../config/overrides.js';
import { openChannels } from '../notify/channels.js';
import type { ReleasePolicy } from '../reconciler/policy.js';
import type { Retention } from '../reconciler/retention.js';
import type { Store } from '../store/store.js';
import { startNotifications, type Notifications } from './notifications.js';
import { RuntimeConfig } from './runtime-config.js';

/** The notifications of the moment: a notify change replaces them; the API's test goes to the current ones. */
export class LiveNotifications {
  #current: Notifications;

  constructor(first: Notifications) {
    this.#current = first;
  }

  readonly notifier = {
    test: (name: string, actor: string): Promise<NotifyTestAnswer> => this.#current.notifier.test(name, actor),
  };

  /** The old notifier stops before the new one follows the trail: a message is never sent by both. */
  async replace(start: () => Promise<Notifications>): Promise<void> {
    await this.#current.close();
    this.#current = await start();
  }

  close(): Promise<void> {
    return this.#current.close();
  }
}

export interface ChangeableParts {
  store: Store;
  version: string;
  policy: ReleasePolicy;
  retention: Retention;
  notifications: LiveNotifications;
}

export function runtimeConfig(config: Config, source: ConfigSource | null, parts: ChangeableParts): RuntimeConfig {
  const runtime = new RuntimeConfig(config, source);
  runtime.onChange(async (next) => async () => {
    parts.policy.setPolicy(next.policy);
    parts.retention.setKeep(next.policy.keepReleases);
  });
  // Last: it opens channels, and nothing after it may refuse the change once they are open.
  runtime.onChange(async (next, previous) => {
    if (JSON.stringify(next.notify) === JSON.stringify(previous.notify)) return async () => undefined;
    const channels = await openChannels(next.notify, parts.version);
    return () => parts.notifications.replace(() => startNotifications(next, parts.store, parts.version, channels));
  });
  return runtime;
}
