/** #/admin/audit: who did what, newest first, filtered by action and actor, a page at a
 * time, with every page of the current filter exportable as CSV. */

import { useState } from "preact/hooks";
import { get } from "../../lib/api";
import { auditFilterProblem, detailText, utcTime, type AuditEntry, type Page } from "../../lib/admin";
import { Loaded, useLoad } from "../../components/states";
import { CsvButton, DataTable, Pager, type Column } from "../../components/table";
import "./admin.css";

const LIMIT = 50;

interface Filters {
  action: string;
  actor_id: string;
}

const COLUMNS: Column<AuditEntry>[] = [
  { key: "at", header: "At", render: (e) => utcTime(e.at), csv: (e) => e.at },
  { key: "action", header: "Action", render: (e) => <code>{e.action}</code> },
  { key: "actor_id", header: "Actor", render: (e) => <code>{e.actor_id ?? "—"}</code>, csv: (e) => e.actor_id ?? "" },
  { key: "target_type", header: "Target type" },
  { key: "target_id", header: "Target", render: (e) => <code>{e.target_id}</code> },
  { key: "detail", header: "Detail", render: (e) => <span class="wrap">{detailText(e.detail)}</span>, csv: (e) => JSON.stringify(e.detail ?? {}) },
  { key: "source_ip", header: "Source IP", render: (e) => <code>{e.source_ip}</code> },
  { key: "id", header: "Id", numeric: true },
];

function fetchAudit(filters: Filters, offset: number, limit: number): Promise<Page<AuditEntry>> {
  return get<Page<AuditEntry>>("/admin/audit", { ...filters, offset, limit });
}

export function AuditLog() {
  const [draft, setDraft] = useState<Filters>({ action: "", actor_id: "" });
  const [filters, setFilters] = useState<Filters>({ action: "", actor_id: "" });
  const [offset, setOffset] = useState(0);
  const load = useLoad(() => fetchAudit(filters, offset, LIMIT), [filters.action, filters.actor_id, offset]);
  const actionProblem = auditFilterProblem("action", draft.action);
  const actorProblem = auditFilterProblem("actor_id", draft.actor_id);

  function apply(e: Event) {
    e.preventDefault();
    if (actionProblem || actorProblem) return;
    setFilters({ action: draft.action.trim(), actor_id: draft.actor_id.trim() });
    setOffset(0);
  }

  const field = (name: keyof Filters, label: string, hint: string, problem: string | null) => (
    <div class="field">
      <label for={`audit-${name}`}>{label}</label>
      <input
        id={`audit-${name}`}
        value={draft[name]}
        aria-describedby={`audit-${name}-hint`}
        aria-invalid={problem ? "true" : undefined}
        onInput={(e) => setDraft({ ...draft, [name]: (e.target as HTMLInputElement).value.trim() })}
      />
      <span id={`audit-${name}-hint`} class={problem ? "field-error" : "hint"}>
        {problem ?? hint}
      </span>
    </div>
  );

  return (
    <section class="admin">
      <h1>Audit log</h1>
      <form class="panel filters" onSubmit={apply} aria-label="Filter the audit log">
        {field("action", "Action", "e.g. kill_switch.engaged, user.roles_changed", actionProblem)}
        {field("actor_id", "Actor id", "The user id that acted", actorProblem)}
        <div class="actions">
          <button type="submit" disabled={Boolean(actionProblem || actorProblem)}>
            Filter
          </button>
          <button
            type="button"
            class="secondary"
            onClick={() => {
              setDraft({ action: "", actor_id: "" });
              setFilters({ action: "", actor_id: "" });
              setOffset(0);
            }}
          >
            Clear
          </button>
          <CsvButton filename="tradewind-audit.csv" columns={COLUMNS} fetchPage={(o, l) => fetchAudit(filters, o, l)} />
        </div>
      </form>
      <Loaded
        load={load}
        what="audit entries"
        isEmpty={(p) => p.items.length === 0 && offset === 0}
        empty={filters.action || filters.actor_id ? "No entry matches these filters." : "The audit log is empty."}
      >
        {(found) => (
          <>
            <DataTable caption="Audit log, newest first" columns={COLUMNS} rows={found.items} rowKey={(e) => String(e.id)} empty="No entries on this page." />
            <Pager offset={found.offset} limit={found.limit} count={found.items.length} nextOffset={found.next_offset} onOffset={setOffset} what="entries" />
          </>
        )}
      </Loaded>
    </section>
  );
}
