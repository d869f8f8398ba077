// Hyperuser administration (admins only): list, create, change password or roles, remove.
import { Router } from 'express';
import { audit } from '../audit.js';
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
    const user = await deps.users.create({
      username: required(body.username, 'username'),
      password: required(body.password, 'password'),
      roles: required(body.roles, 'roles'),
    });
    await audit(deps.store, res, {
      reason: 'UserCreated',
      message: `hyperuser ${user.username} created (${user.roles.join(', ')})`,
      data: { username: user.username, roles: user.roles },
    });
    res.status(201).json({ user });
  });
  router.put('/users/:name', allow('admin'), async (req, res) => {
    const body = readBody(req, { password: 'string', roles: 'string[]' });
    const user = await deps.users.update(String(req.params.name), body);
    const changed = [
      body.password !== undefined ? 'password' : null,
      body.roles !== undefined ? `roles (${user.roles.join(', ')})` : null,
    ].filter(Boolean);
    await audit(deps.store, res, {
      reason: 'UserUpdated',
      message: `hyperuser ${user.username}: ${changed.join(' and ')} changed; its sessions ended`,
      data: { username: user.username, roles: user.roles, password: body.password !== undefined },
    });
    res.json({ user });
  });
  router.delete('/users/:name', allow('admin'), async (req, res) => {
    const name = String(req.params.name);
    await deps.users.remove(name);
    await audit(deps.store, res, {
      reason: 'UserRemoved',
      message: `hyperuser ${name} removed; its sessions ended`,
      data: { username: name },
    });
    res.status(204).end();
  });
  return router;
}
