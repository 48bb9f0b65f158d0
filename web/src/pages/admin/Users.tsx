import { useEffect, useState, type FormEvent } from "react";
import { useApi } from "../../api/useApi";
import { Empty, LoadError, Loading, Problems, TableWrap } from "../../components/PageState";
import { bidPath, newUserBody, USER_ROLES } from "../../lib/admin";
import { ConfirmButton, ErrorAlert, useBid, useMutation, when } from "./common";

interface User {
  id: number;
  email: string;
  display_name: string;
  role: string;
  disabled: boolean;
  last_login_at: string | null;
}

export default function UsersPage() {
  const bid = useBid();
  const list = useApi<{ items: User[] }>(bid ? bidPath(bid, "/users") : null);
  const m = useMutation();
  const [form, setForm] = useState({ email: "", role: "viewer", password: "", displayName: "" });
  const [problems, setProblems] = useState<string[]>([]);

  async function create(e: FormEvent) {
    e.preventDefault();
    const b = newUserBody(form);
    if (!b.ok) return setProblems(b.problems);
    setProblems([]);
    if (!bid) return;
    const r = await m.run<User>(bidPath(bid, "/users"), { method: "POST", json: b.body });
    if (r.ok) {
      setForm({ email: "", role: "viewer", password: "", displayName: "" });
      await list.reload();
    }
  }
  async function patch(u: User, json: Record<string, unknown>) {
    if (!bid) return;
    if ((await m.run(bidPath(bid, `/users/${u.id}`), { method: "PATCH", json })).ok) await list.reload();
  }
  async function remove(u: User) {
    if (!bid) return;
    await m.run(bidPath(bid, `/users/${u.id}`), { method: "DELETE" });
    await list.reload();
  }

  return (
    <section>
      <h1>Users</h1>
      <form className="filters" onSubmit={(e) => void create(e)} aria-label="New user">
        <div className="field">
          <label htmlFor="u-email">Email</label>
          <input id="u-email" type="email" autoComplete="off" value={form.email} onChange={(e) => setForm({ ...form, email: e.target.value })} />
        </div>
        <div className="field">
          <label htmlFor="u-name">Display name</label>
          <input id="u-name" value={form.displayName} onChange={(e) => setForm({ ...form, displayName: e.target.value })} />
        </div>
        <div className="field">
          <label htmlFor="u-role">Role</label>
          <select id="u-role" value={form.role} onChange={(e) => setForm({ ...form, role: e.target.value })}>
            {USER_ROLES.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="u-pass">Password</label>
          <input id="u-pass" type="password" autoComplete="new-password" value={form.password} onChange={(e) => setForm({ ...form, password: e.target.value })} />
        </div>
        <div className="actions">
          <button type="submit" disabled={m.busy}>
            Create user
          </button>
        </div>
      </form>
      {problems.length > 0 && <Problems intro="The user was not created:" problems={problems} />}
      <ErrorAlert message={m.error} />
      {list.loading && !list.data && <Loading what="users" />}
      {list.error && <LoadError message={list.error} onRetry={() => void list.reload()} />}
      {list.data && list.data.items.length === 0 && <Empty>No users yet.</Empty>}
      {list.data && list.data.items.length > 0 && (
        <TableWrap label="Users">
          <table className="data">
            <thead>
              <tr>
                <th scope="col">Email</th>
                <th scope="col">Name</th>
                <th scope="col">Role</th>
                <th scope="col">Status</th>
                <th scope="col">Last sign-in</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {list.data.items.map((u) => (
                <tr key={u.id} data-testid="user-row" data-user-id={u.id}>
                  <td>{u.email}</td>
                  <td>{u.display_name}</td>
                  <td>
                    <RoleCell user={u} busy={m.busy} onSet={(role) => void patch(u, { role })} />
                  </td>
                  <td>{u.disabled ? "disabled" : "active"}</td>
                  <td>{when(u.last_login_at)}</td>
                  <td>
                    <button type="button" className="secondary" disabled={m.busy} onClick={() => void patch(u, { disabled: !u.disabled })}>
                      {u.disabled ? "Enable" : "Disable"}
                    </button>{" "}
                    <ConfirmButton
                      label="Delete"
                      confirmLabel="Delete user"
                      question={<>Delete {u.email}?</>}
                      disabled={m.busy}
                      onConfirm={() => void remove(u)}
                    />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
    </section>
  );
}

// The role is changed with a button, not on every change of the list (arrow keys on a
// closed list would send one request per step).
function RoleCell({ user, busy, onSet }: { user: User; busy: boolean; onSet: (role: string) => void }) {
  const [role, setRole] = useState(user.role);
  useEffect(() => setRole(user.role), [user.role]);
  return (
    <>
      <label className="sr-only" htmlFor={`role-${user.id}`}>
        Role of {user.email}
      </label>
      <select id={`role-${user.id}`} value={role} onChange={(e) => setRole(e.target.value)}>
        {USER_ROLES.map((r) => (
          <option key={r} value={r}>
            {r}
          </option>
        ))}
      </select>
      {role !== user.role && (
        <>
          {" "}
          <button type="button" disabled={busy} onClick={() => onSet(role)}>
            Set role
          </button>
        </>
      )}
    </>
  );
}
