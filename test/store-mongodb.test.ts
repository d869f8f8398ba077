// The store contract against MongoDB, when MONGODB_URI names a server. Each test gets a fresh
// database with a random name, dropped afterwards. Without MONGODB_URI the suite is pending (skipped),
// never passed: a green run must not claim the MongoDB adapter was exercised when it was not.
import { randomBytes } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { openStore } from '../store/open-store.js';
import { storeArchiveContract } from './store-contract-archive.js';
import { storeAtomicContract } from './store-contract-atomic.js';
import { storeContract } from './store-contract.js';
import { storeNotifyContract } from './store-contract-notify.js';

const uri = process.env.MONGODB_URI;

describe('store: mongodb', function () {
  let admin: MongoClient | null = null;
  const databases: string[] = [];

  before(async function () {
    if (!uri) this.skip();
    admin = await new MongoClient(uri).connect();
  });
  afterEach(async () => {
    // Runs after the contract's own afterEach has closed the store.
    for (const name of databases.splice(0)) await admin?.db(name).dropDatabase();
  });
  after(async () => {
    await admin?.close();
  });

  const fresh = (): ReturnType<typeof openStore> => {
    const database = `hypervisor_test_${randomBytes(6).toString('hex')}`;
    databases.push(database);
    return openStore({ kind: 'mongodb', uri: uri!, database });
  };
  storeContract('mongodb', fresh);
  storeAtomicContract('mongodb', fresh);
  storeNotifyContract('mongodb', fresh);
  storeArchiveContract('mongodb', fresh);
});
