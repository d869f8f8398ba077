// Notifications for the daemon (issue 14): the targets' channels opened (a bad secret stops the
// start, naming its key), the notifier following the trail, and the store's health as the signal
// that does not come through the trail. Low disk space comes through it: the disk watch
// (disk-watch.ts, started by the daemon) writes DiskLow and DiskOk.
import os from 'node:os';
import path from 'node:path';
import type { Config } from '../config/config.js';
import type { Channel } from '../notify/channel.js';
import { openChannels } from '../notify/channels.js';
import { Notifier } from '../notify/notifier.js';
import type { Store } from '../store/store.js';

export interface Notifications {
  notifier: Notifier;
  close(): Promise<void>;
}

/** `channels`: opened already (a runtime change opens them first, so a bad secret file refuses it). */
export async function startNotifications(
  config: Config,
  store: Store,
  version: string,
  channels?: Map<string, Channel>,
): Promise<Notifications> {
  channels ??= await openChannels(config.notify, version);
  const notifier = new Notifier({
    store,
    targets: config.notify,
    channels,
    app: config.app.name,
    host: os.hostname(),
    logsDir: path.join(config.root, 'logs'),
  });
  await notifier.start();
  const unsubscribe = store.onHealthChange((health) => notifier.storeHealth(health));
  notifier.storeHealth(store.health());
  return {
    notifier,
    close: async () => {
      unsubscribe();
      await notifier.close();
    },
  };
}
