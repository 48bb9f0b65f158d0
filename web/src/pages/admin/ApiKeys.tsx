import { useState, type FormEvent } from "react";
import { useApi } from "../../api/useApi";
import { Empty, LoadError, Loading, Problems, TableWrap } from "../../components/PageState";
import { API_KEY_SCOPES, bidPath, newApiKeyBody } from "../../lib/admin";
import { ConfirmButton, ErrorAlert, useBid, useMutation, when } from "./common";

interface ApiKey {
  id: number;
  name: string;
  prefix: string;
  scopes: string[];
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

export default function ApiKeysPage() {
  const bid = useBid();
  const list = useApi<{ items: ApiKey[] }>(bid ? bidPath(bid, "/api-keys") : null);
  const m = useMutation();
  const [name, setName] = useState("");
  const [scopes, setScopes] = useState<string[]>(["read"]);
  const [problems, setProblems] = useState<string[]>([]);
  // The new key's secret: shown once, dropped from state when dismissed.
  const [secret, setSecret] = useState<{ name: string; value: string } | null>(null);
  const [copied, setCopied] = useState(false);

  async function create(e: FormEvent) {
    e.preventDefault();
    const b = newApiKeyBody(name, scopes);
    if (!b.ok) return setProblems(b.problems);
    setProblems([]);
    if (!bid) return;
    const r = await m.run<ApiKey & { secret: string }>(bidPath(bid, "/api-keys"), { method: "POST", json: b.body });
    if (r.ok) {
      setSecret({ name: r.data.name, value: r.data.secret });
      setCopied(false);
      setName("");
      await list.reload();
    }
  }
  async function revoke(k: ApiKey) {
    if (!bid) return;
    await m.run(bidPath(bid, `/api-keys/${k.id}`), { method: "DELETE" });
    await list.reload();
  }
  async function copy() {
    if (!secret) return;
    try {
      await navigator.clipboard.writeText(secret.value);
      setCopied(true);
    } catch {
      m.setError("Copying failed: select the key and copy it by hand.");
    }
  }

  return (
    <section>
      <h1>API keys</h1>
      {secret && (
        <div className="card" role="dialog" aria-modal="false" aria-labelledby="secret-title">
          <h2 id="secret-title">New key {secret.name}</h2>
          <p>
            <strong>Copy it now: it is not shown again.</strong>
          </p>
          <p>
            <code className="secret" data-testid="api-key-secret">{secret.value}</code>
          </p>
          <button type="button" onClick={() => void copy()}>
            Copy
          </button>{" "}
          <button type="button" className="secondary" onClick={() => setSecret(null)}>
            Done
          </button>
          <span role="status">{copied ? " Copied." : ""}</span>
        </div>
      )}
      <form className="filters" onSubmit={(e) => void create(e)} aria-label="New API key">
        <div className="field">
          <label htmlFor="k-name">Name</label>
          <input id="k-name" value={name} onChange={(e) => setName(e.target.value)} />
        </div>
        <fieldset className="field">
          <legend>Scopes</legend>
          {API_KEY_SCOPES.map((s) => (
            <label key={s}>
              <input
                type="checkbox"
                checked={scopes.includes(s)}
                onChange={(e) => setScopes(e.target.checked ? [...scopes, s] : scopes.filter((x) => x !== s))}
              />{" "}
              {s}
            </label>
          ))}
        </fieldset>
        <div className="actions">
          <button type="submit" disabled={m.busy}>
            Create key
          </button>
        </div>
      </form>
      {problems.length > 0 && <Problems intro="The key was not created:" problems={problems} />}
      <ErrorAlert message={m.error} />
      {list.loading && !list.data && <Loading what="API keys" />}
      {list.error && <LoadError message={list.error} onRetry={() => void list.reload()} />}
      {list.data && list.data.items.length === 0 && <Empty>No API keys yet.</Empty>}
      {list.data && list.data.items.length > 0 && (
        <TableWrap label="API keys">
          <table className="data">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Prefix</th>
                <th scope="col">Scopes</th>
                <th scope="col">Created</th>
                <th scope="col">Last used</th>
                <th scope="col">Status</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {list.data.items.map((k) => (
                <tr key={k.id} data-testid="api-key-row" data-key-id={k.id}>
                  <td>{k.name}</td>
                  <td>
                    <code>{k.prefix}</code>
                  </td>
                  <td>{k.scopes.join(", ")}</td>
                  <td>{when(k.created_at)}</td>
                  <td>{when(k.last_used_at)}</td>
                  <td>{k.revoked_at ? `revoked ${when(k.revoked_at)}` : "active"}</td>
                  <td>
                    {!k.revoked_at && (
                      <ConfirmButton
                        label="Revoke"
                        confirmLabel="Revoke key"
                        question={<>Revoke {k.name}? Clients using it stop working.</>}
                        disabled={m.busy}
                        onConfirm={() => void revoke(k)}
                      />
                    )}
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
