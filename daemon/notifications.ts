// Notifications for the daemon (issue 14): the targets' channels opened (a bad secret stops the
// start, naming its key), the notifier following the trail, the store's health and the disk watch
// as the signals that do not come through the trail.
import os from 'node:os';
import path from 'node:path';
import type { Config } from '../config/config.js';
import { openChannels } from '../notify/channels.js';
import { Notifier } from '../notify/notifier.js';
import type { Store } from '../store/store.js';
import { DiskWatch } from './disk-watch.js';

export interface Notifications {
  notifier: Notifier;
  close(): Promise<void>;
}

export async function startNotifications(config: Config, store: Store, version: string): Promise<Notifications> {
  const channels = await openChannels(config.notify, version);
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
  const disk = new DiskWatch({ dir: config.root, store });
  disk.start();
  return {
    notifier,
    close: async () => {
      unsubscribe();
      await disk.close();
      await notifier.close();
    },
  };
}
