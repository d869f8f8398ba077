// The embedded store's rows and their mapping to the common types. Apart from the queries so each
// file reads at once; the shapes follow the tables in embedded-schema.ts.
import type {
  Color,
  Deployment,
  DesiredDoc,
  EventRecord,
  GithubDelivery,
  Hyperuser,
  LoginLockoutRecord,
  Revision,
  Role,
  Session,
} from '../common/types.js';
import type { NotificationRecord } from '../common/notifications.js';
import { copyNotification } from './notify-records.js';
import * as rec from './records.js';

export interface RevisionRow {
  number: number;
  doc: string;
  source: string;
  author: string;
  time: string;
}
export interface EventRow {
  id: number;
  time: string;
  reason: string;
  message: string;
  color: Color | null;
  actor: string;
  data: string | null;
}
export interface DeliveryRow {
  delivery_id: string;
  event: string;
  payload: string;
  received_at: string;
}
export interface UserRow {
  username: string;
  password_hash: string;
  roles: string;
  created_at: string;
  updated_at: string;
}
export interface SessionRow {
  id: string;
  username: string;
  created_at: string;
  expires_at_ms: number;
}
export interface LockoutRow {
  name: string;
  doc: string;
  expires_at_ms: number;
}

export const toRevision = (r: RevisionRow): Revision =>
  rec.copyRevision({ ...r, doc: JSON.parse(r.doc) as DesiredDoc });
export const toEvent = (r: EventRow): EventRecord =>
  rec.copyEvent({ ...r, data: r.data === null ? null : (JSON.parse(r.data) as Record<string, unknown>) });
export const toDelivery = (r: DeliveryRow): GithubDelivery => ({
  deliveryId: r.delivery_id,
  event: r.event,
  payload: r.payload,
  receivedAt: r.received_at,
});
export const toUser = (r: UserRow): Hyperuser => ({
  username: r.username,
  passwordHash: r.password_hash,
  roles: JSON.parse(r.roles) as Role[],
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});
export const toSession = (r: SessionRow): Session => ({
  id: r.id,
  username: r.username,
  createdAt: r.created_at,
  expiresAt: new Date(r.expires_at_ms).toISOString(),
});
export const toLockout = (r: LockoutRow): LoginLockoutRecord =>
  rec.copyLockout(JSON.parse(r.doc) as LoginLockoutRecord);

export function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}

export const toDeployment = (r: { doc: string }): Deployment => rec.copyDeployment(JSON.parse(r.doc) as Deployment);

export const toNotification = (r: { doc: string }): NotificationRecord =>
  copyNotification(JSON.parse(r.doc) as NotificationRecord);
