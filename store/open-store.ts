// Builds the configured store and makes it ready. The adapter is imported on demand so a host on the
// embedded store never loads the MongoDB driver, and a MongoDB host never loads the native SQLite module.
import { ValidationError } from '../common/errors.js';
import type { StoreConfig } from '../config/config.js';
import type { Store } from './store.js';

export async function openStore(config: StoreConfig): Promise<Store> {
  const store = await createStore(config);
  try {
    await store.init();
  } catch (err) {
    // Release the half-opened file or connection pool; the init error is the one worth reporting.
    await store.close().catch(() => undefined);
    throw err;
  }
  return store;
}

async function createStore(config: StoreConfig): Promise<Store> {
  switch (config.kind) {
    case 'embedded': {
      const { EmbeddedStore } = await import('./embedded.js');
      return new EmbeddedStore({ path: config.path });
    }
    case 'mongodb': {
      const { MongoStore } = await import('./mongodb.js');
      return new MongoStore({ uri: config.uri, database: config.database });
    }
    default: {
      const unknown: never = config;
      throw new ValidationError(
        'store.kind',
        `must be embedded or mongodb, got ${JSON.stringify((unknown as StoreConfig).kind)}`,
      );
    }
  }
}
