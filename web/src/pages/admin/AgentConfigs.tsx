// Analysis agents of the business: list, create, edit (PUT replaces the whole agent),
// delete. The prompt template is a textarea and the output schema a JSON object in a
// textarea, as the API takes them. The server's 400 message shows verbatim.
import { useState, type FormEvent } from "react";
import { useApi } from "../../api/useApi";
import { Empty, LoadError, Loading, Problems, TableWrap } from "../../components/PageState";
import { bidPath } from "../../lib/admin";
import { AGENT_KINDS, agentBody, agentForm, blankAgentForm, type AgentConfig, type AgentForm } from "../../lib/adminConfig";
import { ConfirmButton, ErrorAlert, useBid, useMutation } from "./common";

export default function AgentConfigsPage() {
  const bid = useBid();
  const list = useApi<{ items: AgentConfig[] }>(bid ? bidPath(bid, "/agents") : null);
  const m = useMutation();
  const [edit, setEdit] = useState<AgentForm & { id: number | null }>(() => ({ ...blankAgentForm(), id: null }));
  const [problems, setProblems] = useState<string[]>([]);
  const [notice, setNotice] = useState<string | null>(null);
  const set = (patch: Partial<AgentForm>) => setEdit({ ...edit, ...patch });
  const reset = () => {
    setEdit({ ...blankAgentForm(), id: null });
    setProblems([]);
    m.setError(null);
  };

  async function save(e: FormEvent) {
    e.preventDefault();
    setNotice(null);
    const b = agentBody(edit);
    if (!b.ok) return setProblems(b.problems);
    setProblems([]);
    if (!bid) return;
    const creating = edit.id === null;
    const r = await m.run<AgentConfig>(bidPath(bid, creating ? "/agents" : `/agents/${edit.id}`), {
      method: creating ? "POST" : "PUT",
      json: b.body,
    });
    if (r.ok) {
      setNotice(`${creating ? "Created" : "Saved"} ${r.data.name} (version ${r.data.version}).`);
      reset();
      await list.reload();
    }
  }
  async function remove(a: AgentConfig) {
    if (!bid) return;
    setNotice(null);
    if ((await m.run(bidPath(bid, `/agents/${a.id}`), { method: "DELETE" })).ok) setNotice(`Deleted ${a.name}.`);
    if (edit.id === a.id) reset();
    await list.reload();
  }

  return (
    <section aria-labelledby="agents-admin-title">
      <h1 id="agents-admin-title">Agent configs</h1>
      <p className="muted">
        The analysis agents run on each transcribed call: builtin ones by the analyzer itself, llm ones with the prompt
        template and output schema below.
      </p>
      <p role="status">{notice}</p>
      {list.loading && !list.data && <Loading what="the agents" />}
      {list.error && <LoadError message={list.error} onRetry={() => void list.reload()} />}
      {list.data && list.data.items.length === 0 && <Empty>No agents yet.</Empty>}
      {list.data && list.data.items.length > 0 && (
        <TableWrap label="Agent configs">
          <table className="data">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Kind</th>
                <th scope="col">Model</th>
                <th scope="col">Enabled</th>
                <th scope="col" className="num">
                  Version
                </th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {list.data.items.map((a) => (
                <tr key={a.id} data-testid="agent-config-row" data-id={a.id}>
                  <td>{a.name}</td>
                  <td>{a.kind}</td>
                  <td>{a.model || "—"}</td>
                  <td>{a.enabled ? "yes" : "no"}</td>
                  <td className="num">{a.version}</td>
                  <td>
                    <button
                      type="button"
                      className="secondary"
                      data-testid="agent-config-edit"
                      onClick={() => {
                        setProblems([]);
                        m.setError(null);
                        setEdit({ ...agentForm(a), id: a.id });
                      }}
                    >
                      Edit
                    </button>{" "}
                    <ConfirmButton label="Delete" confirmLabel="Delete agent" question={<>Delete {a.name}?</>} disabled={m.busy} onConfirm={() => void remove(a)} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
      <form onSubmit={(e) => void save(e)} aria-labelledby="agent-form-title" className="admin-form" data-testid="agent-config-form">
        <h2 id="agent-form-title">{edit.id === null ? "New agent" : `Edit ${edit.name}`}</h2>
        <label htmlFor="ag-name">Name</label>
        <input id="ag-name" data-testid="agent-config-name" maxLength={128} value={edit.name} onChange={(e) => set({ name: e.target.value })} />
        <label htmlFor="ag-kind">Kind</label>
        <select id="ag-kind" data-testid="agent-config-kind" value={edit.kind} onChange={(e) => set({ kind: e.target.value })}>
          {AGENT_KINDS.map((k) => (
            <option key={k} value={k}>
              {k}
            </option>
          ))}
        </select>
        <label htmlFor="ag-model">Model (optional)</label>
        <input id="ag-model" data-testid="agent-config-model" maxLength={128} value={edit.model} onChange={(e) => set({ model: e.target.value })} />
        <label>
          <input type="checkbox" checked={edit.enabled} onChange={(e) => set({ enabled: e.target.checked })} /> Enabled
        </label>
        <label htmlFor="ag-prompt">Prompt template{edit.kind === "llm" ? "" : " (optional for builtin)"}</label>
        <textarea
          id="ag-prompt"
          data-testid="agent-config-prompt"
          rows={8}
          spellCheck={false}
          value={edit.prompt_template}
          onChange={(e) => set({ prompt_template: e.target.value })}
        />
        <label htmlFor="ag-schema">Output schema (JSON object; empty: none)</label>
        <textarea
          id="ag-schema"
          data-testid="agent-config-schema"
          rows={10}
          spellCheck={false}
          value={edit.output_schema}
          onChange={(e) => set({ output_schema: e.target.value })}
        />
        {problems.length > 0 && <Problems intro="Not saved:" problems={problems} />}
        <ErrorAlert message={m.error} />
        <div className="actions">
          <button type="submit" data-testid="agent-config-save" disabled={m.busy}>
            {edit.id === null ? "Create agent" : "Save"}
          </button>{" "}
          {edit.id !== null && (
            <button type="button" className="secondary" onClick={reset}>
              Cancel
            </button>
          )}
        </div>
      </form>
    </section>
  );
}
