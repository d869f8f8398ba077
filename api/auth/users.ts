// Hyperuser administration: names, roles and password hashes in the store. Answers never carry
// a hash. Removing a user ends its sessions at their next request (authenticate() looks it up).
import { describeValue } from '../../common/describe.js';
import { NotFoundError, ValidationError } from '../../common/errors.js';
import type { Hyperuser, NewEvent, Role } from '../../common/types.js';
import type { Store } from '../../store/store.js';
import type { UserAnswer } from '../wire.js';
import { checkNewPassword, type PasswordHasher } from './password.js';
import { isRole, ROLES } from './principal.js';
import { parseUsername } from './service.js';

export type UserStore = Pick<Store, 'getUser' | 'createUser' | 'updateUser' | 'deleteUser' | 'listUsers'>;

/** The audit lines of a user change, built from the user as written; stored in the same transaction. */
export type UserEvents = (user: UserAnswer) => readonly NewEvent[];

export class UserAdmin {
  readonly #store: UserStore;
  readonly #hasher: PasswordHasher;

  constructor(store: UserStore, hasher: PasswordHasher) {
    this.#store = store;
    this.#hasher = hasher;
  }

  async list(): Promise<UserAnswer[]> {
    return (await this.#store.listUsers()).map(view);
  }

  /** Throws DuplicateKeyError when the name exists. */
  async create(
    input: { username: string; password: string; roles: unknown },
    events?: UserEvents,
  ): Promise<UserAnswer> {
    const username = parseUsername(input.username);
    const roles = parseRoles(input.roles);
    const password = checkNewPassword(input.password);
    const user = { username, roles, passwordHash: await this.#hasher.hash(password) };
    return view(await this.#store.createUser(user, events && ((written) => events(view(written)))));
  }

  async update(name: string, input: { password?: string; roles?: unknown }, events?: UserEvents): Promise<UserAnswer> {
    const username = parseUsername(name, 'name');
    if (input.password === undefined && input.roles === undefined)
      throw new ValidationError('', 'give a password, roles, or both');
    const roles = input.roles === undefined ? undefined : parseRoles(input.roles);
    const password = input.password === undefined ? undefined : checkNewPassword(input.password);
    if (!(await this.#store.getUser(username))) throw new NotFoundError(`hyperuser ${username} does not exist`);
    const patch: Partial<Pick<Hyperuser, 'passwordHash' | 'roles'>> = {};
    if (roles) patch.roles = roles;
    if (password !== undefined) patch.passwordHash = await this.#hasher.hash(password);
    return view(await this.#store.updateUser(username, patch, events && ((written) => events(view(written)))));
  }

  /** `events` are stored only when a user was removed, with the removal. */
  async remove(name: string, events: (username: string) => readonly NewEvent[] = () => []): Promise<void> {
    const username = parseUsername(name, 'name');
    if (!(await this.#store.deleteUser(username, events(username))))
      throw new NotFoundError(`hyperuser ${username} does not exist`);
  }
}

function view(user: Hyperuser): UserAnswer {
  return { username: user.username, roles: [...user.roles], createdAt: user.createdAt, updatedAt: user.updatedAt };
}

export function parseRoles(value: unknown): Role[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new ValidationError('roles', `must be a non-empty list of ${ROLES.join(', ')}, got ${describeValue(value)}`);
  }
  const roles = new Set<Role>();
  for (const [i, role] of value.entries()) {
    if (!isRole(role))
      throw new ValidationError(`roles[${i}]`, `must be one of ${ROLES.join(', ')}, got ${describeValue(role)}`);
    roles.add(role);
  }
  return ROLES.filter((role) => roles.has(role));
}
