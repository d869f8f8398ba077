// The part of the store port the log archive uses (Store.archive): its own records of what is
// archived (`archive_objects`), and the reads of deliveries and ledger entries a daily export needs.
// A restart learns from these records what is still to upload; both adapters implement it and one
// contract suite (test/store-contract-archive.ts) holds them to the same behaviour.
import type { ArchiveKind, ArchiveObject, ArchiveOutcome, ArchiveState, NewArchiveObject } from '../common/archive.js';
import type { Deployment, GithubDelivery } from '../common/types.js';

/** ISO-8601 instants, `from` included and `to` excluded. */
export interface TimeRange {
  from: string;
  to: string;
}

/** Where a page of deliveries ended: the next page starts after it. */
export interface DeliveryCursor {
  receivedAt: string;
  deliveryId: string;
}

export interface ArchiveRecords {
  /**
   * Queues an object for upload: a new record, or an existing one (a rebuild's new log) reset to
   * `pending` with its next generation, no attempts and no location or hash. Returns what is stored.
   */
  queue(entry: NewArchiveObject): Promise<ArchiveObject>;
  /**
   * Records how an upload of `generation` ended: `uploaded` with its location and hash, `missing`,
   * or one more failed attempt with its cause. Null (and nothing written) when the object was queued
   * again since, or does not exist.
   */
  settle(name: string, generation: number, outcome: ArchiveOutcome): Promise<ArchiveObject | null>;
  get(name: string): Promise<ArchiveObject | null>;
  /** Records of the given state and kind (either may be omitted), greatest name first, at most `limit`. */
  list(filter: { state?: ArchiveState; kind?: ArchiveKind }, limit: number): Promise<ArchiveObject[]>;
  /** Deliveries received in `range`, by receivedAt then deliveryId, after `cursor`, at most `limit`. */
  deliveries(range: TimeRange, cursor: DeliveryCursor | null, limit: number): Promise<GithubDelivery[]>;
  /** Ledger entries that started or ended in `range`, by id, at most `limit`. */
  deployments(range: TimeRange, limit: number): Promise<Deployment[]>;
}
