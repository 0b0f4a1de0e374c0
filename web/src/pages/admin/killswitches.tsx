/** #/admin/kill-switches: engage a kill switch (global, a venue, an account, a bot) with
 * a reason, see the engaged ones, release one. Operators and admins may do both
 * (rbac.py: kill_switches:write). Below them, the platform's risk ceiling (ceiling.tsx):
 * operators read it, admins set it. */

import { useState } from "preact/hooks";
import { ApiError, get, post } from "../../lib/api";
import {
  engageBody,
  KILL_SCOPES,
  outcomeMessage,
  targetHint,
  targetProblem,
  utcTime,
  type KillScope,
  type KillSwitch,
  type KillSwitchOutcome,
} from "../../lib/admin";
import { Loaded, useLoad } from "../../components/states";
import { DataTable, type Column } from "../../components/table";
import { Confirm } from "./confirm";
import { PlatformCeiling } from "./ceiling";
import "./admin.css";

interface Notice {
  text: string;
  warn: boolean;
}

function EngageForm({ onEngaged }: { onEngaged: (notice: Notice) => void }) {
  const [scope, setScope] = useState<KillScope>("global");
  const [target, setTarget] = useState("");
  const [reason, setReason] = useState("");
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<ApiError | null>(null);
  const [targetError, setTargetError] = useState<string | null>(null);

  async function submit(e: Event) {
    e.preventDefault();
    const problem = targetProblem(scope, scope === "global" ? "" : target);
    setTargetError(problem);
    if (problem) return;
    setBusy(true);
    setFailure(null);
    try {
      const outcome = await post<KillSwitchOutcome>("/admin/kill-switches", engageBody(scope, target, reason));
      setReason("");
      setTarget("");
      onEngaged({ text: outcomeMessage("engage", outcome), warn: !outcome.published });
    } catch (error) {
      setFailure(error instanceof ApiError ? error : new ApiError(0, "error", String(error)));
    } finally {
      setBusy(false);
    }
  }

  const targetMessage = targetError ?? failure?.forField("target");
  const reasonMessage = failure?.forField("reason");
  return (
    <form class="panel kill-form" onSubmit={(e) => void submit(e)} noValidate>
      <h2>Engage a kill switch</h2>
      <div class="field">
        <label for="kill-scope">Scope</label>
        <select
          id="kill-scope"
          value={scope}
          onChange={(e) => {
            setScope((e.target as HTMLSelectElement).value as KillScope);
            setTargetError(null);
          }}
        >
          {KILL_SCOPES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </div>
      <div class="field">
        <label for="kill-target">Target</label>
        <input
          id="kill-target"
          value={scope === "global" ? "" : target}
          disabled={scope === "global"}
          maxLength={64}
          aria-describedby="kill-target-hint"
          aria-invalid={targetMessage ? "true" : undefined}
          onInput={(e) => setTarget((e.target as HTMLInputElement).value)}
        />
        <span id="kill-target-hint" class="hint">
          {targetHint(scope)}
        </span>
        {targetMessage && <span class="field-error">{targetMessage}</span>}
      </div>
      <div class="field">
        <label for="kill-reason">Reason</label>
        <input
          id="kill-reason"
          value={reason}
          required
          maxLength={500}
          aria-describedby="kill-reason-hint"
          aria-invalid={reasonMessage ? "true" : undefined}
          onInput={(e) => setReason((e.target as HTMLInputElement).value)}
        />
        <span id="kill-reason-hint" class="hint">
          Shown to every user whose orders it stops.
        </span>
        {reasonMessage && <span class="field-error">{reasonMessage}</span>}
      </div>
      {failure && (
        <p role="alert" class="field-error">
          {failure.detail}
        </p>
      )}
      <div class="actions">
        <button type="submit" class="danger" disabled={busy}>
          Engage
        </button>
      </div>
    </form>
  );
}

export function KillSwitches() {
  const load = useLoad(() => get<KillSwitch[]>("/admin/kill-switches"), []);
  const [notice, setNotice] = useState<Notice | null>(null);
  const [releasing, setReleasing] = useState<KillSwitch | null>(null);

  async function release(found: KillSwitch) {
    const outcome = await post<KillSwitchOutcome>("/admin/kill-switches/release", {
      scope: found.scope,
      target: found.target,
    });
    setReleasing(null);
    setNotice({ text: outcomeMessage("release", outcome), warn: outcome.changed && !outcome.published });
    load.reload();
  }

  const columns: Column<KillSwitch>[] = [
    { key: "scope", header: "Scope" },
    { key: "target", header: "Target", render: (s) => (s.scope === "global" ? <span class="muted">everything</span> : <code>{s.target}</code>) },
    { key: "reason", header: "Reason", render: (s) => <span class="wrap">{s.reason}</span> },
    { key: "actor_id", header: "Actor", render: (s) => <code>{s.actor_id ?? "—"}</code> },
    { key: "engaged_at", header: "Engaged at", render: (s) => utcTime(s.engaged_at) },
    {
      key: "release",
      header: "Action",
      csv: false,
      render: (s) => (
        <button type="button" class="secondary" onClick={() => setReleasing(s)}>
          Release
        </button>
      ),
    },
  ];

  return (
    <section class="admin">
      <h1>Kill switches</h1>
      <p class="muted">
        A kill switch halts new orders for everything, a venue, an exchange account or a bot until it is released.
      </p>
      <EngageForm
        onEngaged={(n) => {
          setNotice(n);
          load.reload();
        }}
      />
      <div role="status" aria-live="polite">
        {notice && <p class={notice.warn ? "notice warn" : "notice"}>{notice.text}</p>}
      </div>
      {releasing && (
        <Confirm
          title="Release this kill switch?"
          body={
            <p>
              Orders for {releasing.scope === "global" ? "the whole platform" : `${releasing.scope} ${releasing.target}`} will be
              allowed again. It was engaged because: {releasing.reason}
            </p>
          }
          confirmLabel="Release kill switch"
          onConfirm={() => release(releasing)}
          onCancel={() => setReleasing(null)}
        />
      )}
      <Loaded load={load} what="kill switches">
        {(switches) => (
          <DataTable
            caption="Engaged kill switches"
            columns={columns}
            rows={switches}
            rowKey={(s) => `${s.scope}:${s.target}`}
            empty="No kill switch is engaged: trading is open."
          />
        )}
      </Loaded>
      <PlatformCeiling />
    </section>
  );
}
