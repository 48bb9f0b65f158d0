// Categories and scorecards: a list and an editor of the name, enabled flag and the JSON
// array the API takes (rules or questions). The server's 400 message shows verbatim.
import { useState, type FormEvent } from "react";
import { useApi } from "../../api/useApi";
import { Empty, LoadError, Loading, Problems, TableWrap } from "../../components/PageState";
import { bidPath, RULES_FIELD, rulesBody, type RulesKind } from "../../lib/admin";
import { ConfirmButton, ErrorAlert, useBid, useMutation } from "./common";

interface Item {
  id: number;
  name: string;
  enabled: boolean;
  version: number;
  rules?: unknown[];
  questions?: unknown[];
}

const EXAMPLE: Record<RulesKind, unknown[]> = {
  categories: [{ type: "transcript", phrases: ["refund"], speaker: "customer" }],
  scorecards: [{ id: "greeting", text: "Did the agent greet?", weight: 1, answer: { kind: "rule", rules: [{ type: "transcript", phrases: ["hello"], speaker: "agent" }] } }],
};

export function RulesEditor({ kind, title, rowTestId }: { kind: RulesKind; title: string; rowTestId: string }) {
  const field = RULES_FIELD[kind];
  const bid = useBid();
  const list = useApi<{ items: Item[] }>(bid ? bidPath(bid, `/${kind}`) : null);
  const m = useMutation();
  const blank = () => ({ id: null as number | null, name: "", enabled: true, json: JSON.stringify(EXAMPLE[kind], null, 2) });
  const [edit, setEdit] = useState(blank);
  const [problems, setProblems] = useState<string[]>([]);

  async function save(e: FormEvent) {
    e.preventDefault();
    const b = rulesBody(kind, edit.name, edit.json, edit.enabled);
    if (!b.ok) return setProblems(b.problems);
    setProblems([]);
    if (!bid) return;
    const path = bidPath(bid, edit.id === null ? `/${kind}` : `/${kind}/${edit.id}`);
    const r = await m.run<Item>(path, { method: edit.id === null ? "POST" : "PUT", json: b.body });
    if (r.ok) {
      setEdit(blank());
      await list.reload();
    }
  }
  async function remove(it: Item) {
    if (!bid) return;
    await m.run(bidPath(bid, `/${kind}/${it.id}`), { method: "DELETE" });
    if (edit.id === it.id) setEdit(blank());
    await list.reload();
  }

  return (
    <section>
      <h1>{title}</h1>
      {list.loading && !list.data && <Loading what={title.toLowerCase()} />}
      {list.error && <LoadError message={list.error} onRetry={() => void list.reload()} />}
      {list.data && list.data.items.length === 0 && <Empty>None yet.</Empty>}
      {list.data && list.data.items.length > 0 && (
        <TableWrap label={title}>
          <table className="data">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col" className="num">
                  {field === "rules" ? "Rules" : "Questions"}
                </th>
                <th scope="col">Enabled</th>
                <th scope="col" className="num">
                  Version
                </th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {list.data.items.map((it) => (
                <tr key={it.id} data-testid={rowTestId} data-id={it.id}>
                  <td>{it.name}</td>
                  <td className="num">{(it[field] ?? []).length}</td>
                  <td>{it.enabled ? "yes" : "no"}</td>
                  <td className="num">{it.version}</td>
                  <td>
                    <button
                      type="button"
                      className="secondary"
                      onClick={() => {
                        setProblems([]);
                        m.setError(null);
                        setEdit({ id: it.id, name: it.name, enabled: it.enabled, json: JSON.stringify(it[field] ?? [], null, 2) });
                      }}
                    >
                      Edit
                    </button>{" "}
                    <ConfirmButton label="Delete" confirmLabel="Delete" question={<>Delete {it.name}?</>} disabled={m.busy} onConfirm={() => void remove(it)} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
      <form onSubmit={(e) => void save(e)} aria-labelledby="editor-title" className="admin-form">
        <h2 id="editor-title">{edit.id === null ? "New" : `Edit ${edit.name}`}</h2>
        <label htmlFor="r-name">Name</label>
        <input id="r-name" value={edit.name} onChange={(e) => setEdit({ ...edit, name: e.target.value })} />
        <label>
          <input type="checkbox" checked={edit.enabled} onChange={(e) => setEdit({ ...edit, enabled: e.target.checked })} /> Enabled
        </label>
        <label htmlFor="r-json">{field} (JSON array)</label>
        <textarea id="r-json" rows={14} spellCheck={false} value={edit.json} onChange={(e) => setEdit({ ...edit, json: e.target.value })} />
        {problems.length > 0 && <Problems intro="Not saved:" problems={problems} />}
        <ErrorAlert message={m.error} />
        <div className="actions">
          <button type="submit" disabled={m.busy}>
            {edit.id === null ? "Create" : "Save"}
          </button>{" "}
          {edit.id !== null && (
            <button type="button" className="secondary" onClick={() => setEdit(blank())}>
              Cancel
            </button>
          )}
        </div>
      </form>
    </section>
  );
}
