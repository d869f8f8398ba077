// Hyperusers (admins only): who may log in, with which role; add, change the role or the password,
// remove. The same accounts as hyperctl users and hyper-cli.
import { useState } from 'preact/hooks';
import type { UserAnswer } from '../api/wire.js';
import type { Role } from '../common/types.js';
import { useAsk } from './actions.js';
import { call } from './api.js';
import { time } from './format.js';
import { useLoad } from './load.js';

const ROLES: Role[] = ['viewer', 'operator', 'admin'];

export function Users() {
  const list = useLoad(() => call<{ users: UserAnswer[] }>('GET', '/users'));
  const ask = useAsk();
  return (
    <div>
      <h1>Users</h1>
      {list.error && <p class="error">{list.error.message}</p>}
      <AddUser />
      <div class="table">
        <table>
          <thead>
            <tr>
              <th scope="col">User</th>
              <th scope="col">Roles</th>
              <th scope="col">Changed</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {(list.data?.users ?? []).map((u) => (
              <tr key={u.username}>
                <th scope="row">{u.username}</th>
                <td>{u.roles.join(', ')}</td>
                <td>{time(u.updatedAt)}</td>
                <td>
                  <button
                    type="button"
                    class="small"
                    onClick={() =>
                      ask({
                        title: `Remove ${u.username}`,
                        detail: `${u.username} can no longer log in; their sessions end now.`,
                        run: async () => {
                          await call('DELETE', `/users/${encodeURIComponent(u.username)}`);
                          list.reload();
                          return `${u.username} removed`;
                        },
                      })
                    }
                  >
                    Remove
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}

function AddUser() {
  const ask = useAsk();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [role, setRole] = useState<Role>('viewer');
  const submit = (e: Event): void => {
    e.preventDefault();
    const name = username.trim();
    ask({
      title: `Add ${name}`,
      detail: `${name} may log in as ${role}.`,
      run: async () => {
        await call('POST', '/users', { json: { username: name, password, roles: [role] } });
        setPassword('');
        return `${name} added as ${role}`;
      },
    });
  };
  return (
    <form class="filters" onSubmit={submit} aria-label="Add a user">
      <label for="new-user">New user</label>
      <input id="new-user" value={username} onInput={(e) => setUsername(e.currentTarget.value)} required />
      <label for="new-password">Their password</label>
      <input
        id="new-password"
        type="password"
        autocomplete="new-password"
        value={password}
        onInput={(e) => setPassword(e.currentTarget.value)}
        required
      />
      <label for="new-role">Role</label>
      <select id="new-role" value={role} onChange={(e) => setRole(e.currentTarget.value as Role)}>
        {ROLES.map((r) => (
          <option key={r}>{r}</option>
        ))}
      </select>
      <button type="submit">Add</button>
    </form>
  );
}
