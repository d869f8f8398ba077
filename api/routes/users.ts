// Hyperuser administration (admins only): list, create, change password or roles, remove.
import { Router } from 'express';
import { auditing } from '../audit.js';
import type { UserAnswer } from '../wire.js';
import { allow } from '../auth/gate.js';
import { readBody, required } from '../body.js';
import type { ApiDeps } from '../deps.js';

export function userRoutes(deps: ApiDeps): Router {
  const router = Router();
  router.get('/users', allow('admin'), async (_req, res) => {
    res.json({ users: await deps.users.list() });
  });
  router.post('/users', allow('admin'), async (req, res) => {
    const body = readBody(req, { username: 'string', password: 'string', roles: 'string[]' });
    const input = {
      username: required(body.username, 'username'),
      password: required(body.password, 'password'),
      roles: required(body.roles, 'roles'),
    };
    const user = await deps.users.create(
      input,
      auditing(res, (created: UserAnswer) => ({
        reason: 'UserCreated',
        message: `hyperuser ${created.username} created (${created.roles.join(', ')})`,
        data: { username: created.username, roles: created.roles },
      })),
    );
    res.status(201).json({ user });
  });
  router.put('/users/:name', allow('admin'), async (req, res) => {
    const body = readBody(req, { password: 'string', roles: 'string[]' });
    const user = await deps.users.update(
      String(req.params.name),
      body,
      auditing(res, (updated: UserAnswer) => {
        const changed = [
          body.password !== undefined ? 'password' : null,
          body.roles !== undefined ? `roles (${updated.roles.join(', ')})` : null,
        ].filter(Boolean);
        return {
          reason: 'UserUpdated',
          message: `hyperuser ${updated.username}: ${changed.join(' and ')} changed; its sessions ended`,
          data: { username: updated.username, roles: updated.roles, password: body.password !== undefined },
        };
      }),
    );
    res.json({ user });
  });
  router.delete('/users/:name', allow('admin'), async (req, res) => {
    await deps.users.remove(
      String(req.params.name),
      auditing(res, (name: string) => ({
        reason: 'UserRemoved',
        message: `hyperuser ${name} removed; its sessions ended`,
        data: { username: name },
      })),
    );
    res.status(204).end();
  });
  return router;
}
