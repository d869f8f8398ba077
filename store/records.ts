// What both adapters share: argument checks and the mapping of stored documents to the common types.
// Keeping it in one place is what lets the one contract suite hold for both stores: the same input
// is refused the same way, and a record reads back with exactly the same keys whichever store held it.
import { ConflictError, DuplicateKeyError, StaleRevisionError, ValidationError } from '../common/errors.js';
import type {
  Deployment,
  DesiredDoc,
  EventRecord,
  GateRecord,
  GithubDelivery,
  Hyperuser,
  LoginLockoutRecord,
  GateResult,
  NewDeployment,
  NewEvent,
  ReleaseRecord,
  Revision,
  Session,
  SmokeResult,
  StepResult,
} from '../common/types.js';
import type { ReleasePatch } from './store.js';

/** The actor of an event whose writer named none: the daemon itself. */
export const DEFAULT_ACTOR = 'hypervisor';

export function nowIso(): string {
  return new Date().toISOString();
}

/**
 * A list size must be a non-negative integer. Checked because both engines read odd values as
 * "no limit" (MongoDB's limit(0), SQLite's LIMIT -1), which would turn a bad argument into a full scan.
 */
export function checkLimit(limit: number): number {
  if (!Number.isSafeInteger(limit) || limit < 0) {
    throw new ValidationError('limit', `must be a non-negative integer, got ${String(limit)}`);
  }
  return limit;
}

export function checkAfterId(afterId: number): number {
  if (!Number.isSafeInteger(afterId) || afterId < 0) {
    throw new ValidationError('afterId', `must be a non-negative integer, got ${String(afterId)}`);
  }
  return afterId;
}

export function checkExpected(expected: number | undefined): void {
  if (expected !== undefined && (!Number.isSafeInteger(expected) || expected < 0)) {
    throw new ValidationError('expected', `must be a revision number (0 for none), got ${String(expected)}`);
  }
}

export function staleRevision(expected: number, latest: number): StaleRevisionError {
  return new StaleRevisionError(
    expected,
    latest,
    `desired state is at revision ${latest}, not ${expected}: read it again and reapply the change`,
  );
}

export function revisionTaken(number: number): ConflictError {
  return new ConflictError(
    `revision ${number} was written by another writer at the same time: read it again and retry`,
  );
}

/** Sessions compare by instant, so an expiry is kept as a number (SQLite) or Date (MongoDB). */
export function expiryMs(session: Session): number {
  const ms = Date.parse(session.expiresAt);
  if (Number.isNaN(ms)) {
    throw new ValidationError('expiresAt', `must be an ISO-8601 time, got ${JSON.stringify(session.expiresAt)}`);
  }
  return ms;
}

/** Event data goes through JSON in both stores, so a Date or an undefined reads back the same from either. */
export function jsonData(data: Record<string, unknown> | null | undefined): Record<string, unknown> | null {
  return data == null ? null : (JSON.parse(JSON.stringify(data)) as Record<string, unknown>);
}

export function newEventRecord(id: number, event: NewEvent, time: string): EventRecord {
  return {
    id,
    time,
    reason: event.reason,
    message: event.message,
    color: event.color ?? null,
    actor: event.actor ?? DEFAULT_ACTOR,
    data: jsonData(event.data),
  };
}

// The copy* functions list every key, so extra fields a store keeps (_id, seq) never reach a caller.

export function copyDesired(doc: DesiredDoc): DesiredDoc {
  return {
    active: doc.active ?? null,
    colors: { blue: { tag: doc.colors.blue.tag ?? null }, green: { tag: doc.colors.green.tag ?? null } },
    paused: doc.paused === true,
  };
}

export function copyRevision(r: Revision): Revision {
  return { number: r.number, doc: copyDesired(r.doc), source: r.source, author: r.author, time: r.time };
}

function copySmoke(smoke: SmokeResult | null | undefined): SmokeResult | null {
  if (!smoke) return null;
  return { ...copyStep(smoke)!, color: smoke.color, passed: smoke.passed === true, summary: smoke.summary };
}

function copyStep(step: StepResult | null | undefined): StepResult | null {
  if (!step) return null;
  return {
    exitCode: step.exitCode ?? null,
    signal: step.signal ?? null,
    timedOut: step.timedOut === true,
    durationMs: step.durationMs,
    logPath: step.logPath,
    startedAt: step.startedAt,
    finishedAt: step.finishedAt,
  };
}

export function copyRelease(r: ReleaseRecord): ReleaseRecord {
  return {
    tag: r.tag,
    sha: r.sha ?? null,
    version: r.version ?? null,
    author: r.author ?? null,
    status: r.status,
    error: r.error ?? null,
    build: copyStep(r.build),
    test: copyStep(r.test),
    artifactPath: r.artifactPath ?? null,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    taggedAt: r.taggedAt ?? null,
    origin: r.origin ? { source: r.origin.source, actor: r.origin.actor } : null,
    interruptions: r.interruptions ?? 0,
    smoke: copySmoke(r.smoke),
  };
}

const RELEASE_PATCH_KEYS = [
  'sha',
  'version',
  'author',
  'status',
  'error',
  'build',
  'test',
  'artifactPath',
  'taggedAt',
  'origin',
  'interruptions',
  'smoke',
] as const;

/** Only the patchable keys that are really set: a stray `tag` or an `undefined` must not overwrite anything. */
export function releasePatchFields(patch: ReleasePatch): ReleasePatch {
  const fields: Record<string, unknown> = {};
  for (const key of RELEASE_PATCH_KEYS) {
    if (patch[key] === undefined) continue;
    fields[key] =
      key === 'build' || key === 'test' ? copyStep(patch[key]) : key === 'smoke' ? copySmoke(patch[key]) : patch[key];
  }
  return fields as ReleasePatch;
}

export function newRelease(record: Omit<ReleaseRecord, 'createdAt' | 'updatedAt'>, time: string): ReleaseRecord {
  return copyRelease({ ...record, createdAt: time, updatedAt: time });
}

export function newDeployment(id: number, d: NewDeployment, time: string): Deployment {
  const gates = d.gates ?? [];
  return copyDeployment({ ...d, gates, id, startedAt: time, endedAt: null, endReason: null, verdict: null });
}

export function copyDeployment(d: Deployment): Deployment {
  return {
    id: d.id,
    color: d.color,
    tag: d.tag,
    version: d.version ?? null,
    revision: d.revision,
    switchedBy: d.switchedBy,
    source: d.source,
    startedAt: d.startedAt,
    endedAt: d.endedAt ?? null,
    endReason: d.endReason ?? null,
    gates: (d.gates ?? []).map(copyGate),
    verdict: d.verdict ?? null,
  };
}

function copyGate(g: GateResult): GateResult {
  return { name: g.name, result: g.result, verdict: g.verdict, measured: { ...g.measured } };
}

/** An entry with a gate's record applied (pure: the adapters store what this returns). */
export function withGate(d: Deployment, record: GateRecord, time: string): Deployment {
  const gates = [...d.gates.filter((g) => g.name !== record.gate.name), record.gate];
  const ending = record.end !== undefined && d.endedAt === null;
  return copyDeployment({
    ...d,
    gates,
    verdict: record.verdict ?? d.verdict,
    ...(ending ? { endedAt: time, endReason: record.end } : {}),
  });
}

export function deploymentTaken(d: NewDeployment): DuplicateKeyError {
  return new DuplicateKeyError(
    'deployment',
    `revision ${d.revision} already has a deployment of ${d.tag} on ${d.color}`,
  );
}

export function copyEvent(e: EventRecord): EventRecord {
  return {
    id: e.id,
    time: e.time,
    reason: e.reason,
    message: e.message,
    color: e.color ?? null,
    actor: e.actor,
    data: e.data ?? null,
  };
}

export function copyDelivery(d: GithubDelivery): GithubDelivery {
  return { deliveryId: d.deliveryId, event: d.event, payload: d.payload, receivedAt: d.receivedAt };
}

export function copyUser(u: Hyperuser): Hyperuser {
  return {
    username: u.username,
    passwordHash: u.passwordHash,
    roles: [...u.roles],
    createdAt: u.createdAt,
    updatedAt: u.updatedAt,
  };
}

export type UserPatch = Partial<Pick<Hyperuser, 'passwordHash' | 'roles'>>;

export function userPatchFields(patch: UserPatch): UserPatch {
  const fields: UserPatch = {};
  if (patch.passwordHash !== undefined) fields.passwordHash = patch.passwordHash;
  if (patch.roles !== undefined) fields.roles = [...patch.roles];
  return fields;
}

export function copyLockout(l: LoginLockoutRecord): LoginLockoutRecord {
  return {
    name: l.name,
    failures: l.failures,
    locks: l.locks,
    lockedUntil: l.lockedUntil,
    lastFailureAt: l.lastFailureAt,
    expiresAt: l.expiresAt,
  };
}

/** A record an update returns is checked before it is stored: a bad one would lock a name forever, or never. */
export function checkLockout(name: string, next: LoginLockoutRecord): LoginLockoutRecord {
  if (next.name !== name) throw new ValidationError('name', `an update of ${name} returned the record of ${next.name}`);
  for (const key of ['failures', 'locks'] as const) {
    if (!Number.isSafeInteger(next[key]) || next[key] < 0)
      throw new ValidationError(key, `must be a non-negative integer, got ${String(next[key])}`);
  }
  for (const key of ['lockedUntil', 'lastFailureAt', 'expiresAt'] as const) {
    if (Number.isNaN(Date.parse(next[key])))
      throw new ValidationError(key, `must be an ISO-8601 time, got ${JSON.stringify(next[key])}`);
  }
  return copyLockout(next);
}
