/** #/admin/users: every user (email masked by the API), their roles and login state.
 * Operators read; admins change roles (every role the API has, `service` included),
 * disable, enable and unlock (rbac.py: users:write). The API refuses what it must (your
 * own admin role, yourself). */

import { useState } from "preact/hooks";
import { ApiError, get, post, put } from "../../lib/api";
import { isAdmin, user as me } from "../../lib/session";
import {
  EDITABLE_ROLES,
  isLocked,
  rolesDiffer,
  rolesToPut,
  utcTime,
  type AdminUser,
  type Page,
} from "../../lib/admin";
import { Loaded, useLoad } from "../../components/states";
import { DataTable, Pager, type Column } from "../../components/table";
import { Confirm } from "./confirm";
import "./admin.css";

const LIMIT = 50;

type Action = "disable" | "enable" | "unlock";

const ACTION_TEXT: Record<Action, { title: string; body: string; label: string; done: string }> = {
  disable: {
    title: "Disable this user?",
    body:
      "They cannot sign in, and every session and token they hold ends at once. Their bots keep running: " +
      "stop them, or engage a kill switch, if they must not trade.",
    label: "Disable user",
    done: "disabled",
  },
  enable: {
    title: "Enable this user?",
    body: "They can sign in again (their old sessions stay ended).",
    label: "Enable user",
    done: "enabled",
  },
  unlock: {
    title: "Unlock this user?",
    body: "Clears the waits that failed sign-ins put on every source for their address. Do this only after they proved who they are some other way.",
    label: "Unlock user",
    done: "unlocked",
  },
};

function RolesEditor({ target, onSaved, onCancel }: { target: AdminUser; onSaved: (u: AdminUser) => void; onCancel: () => void }) {
  const [ticked, setTicked] = useState<Set<string>>(() => new Set(target.roles));
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<string | null>(null);
  const next = rolesToPut(ticked);

  async function save(e: Event) {
    e.preventDefault();
    setBusy(true);
    setFailure(null);
    try {
      onSaved(await put<AdminUser>(`/admin/users/${encodeURIComponent(target.id)}/roles`, { roles: next }));
    } catch (error) {
      setFailure(error instanceof ApiError ? error.detail : String(error));
      setBusy(false);
    }
  }

  return (
    <form class="panel roles-editor" onSubmit={(e) => void save(e)}>
      <fieldset>
        <legend>
          Roles of {target.email} (<code>{target.id}</code>)
        </legend>
        {EDITABLE_ROLES.map((role) => (
          <div class="check" key={role}>
            <input
              type="checkbox"
              id={`role-${role}`}
              checked={ticked.has(role)}
              onChange={(e) => {
                const on = (e.target as HTMLInputElement).checked;
                setTicked((old) => {
                  const copy = new Set(old);
                  if (on) copy.add(role);
                  else copy.delete(role);
                  return copy;
                });
              }}
            />
            <label for={`role-${role}`}>{role}</label>
          </div>
        ))}
      </fieldset>
      <p class="hint">
        service: for a program (an alerting hook) that reads health and breakers and engages kill switches, not for a
        person.
      </p>
      <p class="hint">
        {next.length === 0
          ? "Tick at least one role: a user needs one (to shut someone out, disable them instead)."
          : "Their tokens stop working at once; they sign in again to get the new roles."}
      </p>
      {failure && (
        <p role="alert" class="field-error">
          {failure}
        </p>
      )}
      <div class="actions">
        <button type="submit" disabled={busy || next.length === 0 || !rolesDiffer(target.roles, next)}>
          Save roles
        </button>
        <button type="button" class="secondary" onClick={onCancel} disabled={busy}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function loginState(u: AdminUser) {
  const parts: string[] = [];
  if (u.disabled) parts.push("Disabled");
  if (isLocked(u)) parts.push(`Locked until ${utcTime(u.locked_until)}`);
  return parts.length ? parts.join(" · ") : "Active";
}

export function Users() {
  const [offset, setOffset] = useState(0);
  const load = useLoad(() => get<Page<AdminUser>>("/admin/users", { limit: LIMIT, offset }), [offset]);
  const [editing, setEditing] = useState<AdminUser | null>(null);
  const [pending, setPending] = useState<{ action: Action; target: AdminUser } | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const admin = isAdmin.value;

  async function act(action: Action, target: AdminUser) {
    const updated = await post<AdminUser>(`/admin/users/${encodeURIComponent(target.id)}/${action}`);
    setPending(null);
    setNotice(`${updated.email}: ${ACTION_TEXT[action].done}.`);
    load.reload();
  }

  const columns: Column<AdminUser>[] = [
    { key: "email", header: "Email", render: (u) => <>{u.email}{u.id === me.value?.id && <span class="muted"> (you)</span>}</> },
    { key: "id", header: "User id", render: (u) => <code>{u.id}</code> },
    { key: "roles", header: "Roles", render: (u) => (u.roles.length ? u.roles.join(", ") : <span class="muted">none</span>) },
    { key: "created_at", header: "Created", render: (u) => utcTime(u.created_at) },
    { key: "failed_logins", header: "Failed sign-ins", numeric: true },
    { key: "state", header: "State", render: (u) => <span class={u.disabled || isLocked(u) ? "down" : undefined}>{loginState(u)}</span> },
  ];
  if (admin) {
    columns.push({
      key: "actions",
      header: "Actions",
      csv: false,
      render: (u) => (
        <div class="actions">
          <button type="button" class="secondary" onClick={() => { setPending(null); setEditing(u); }}>
            Edit roles
          </button>
          {u.disabled ? (
            <button type="button" class="secondary" onClick={() => { setEditing(null); setPending({ action: "enable", target: u }); }}>
              Enable
            </button>
          ) : (
            <button type="button" class="secondary" onClick={() => { setEditing(null); setPending({ action: "disable", target: u }); }}>
              Disable
            </button>
          )}
          {/* Always offered: the waits are per source (login_failures), and a sign-in
              from one source zeroes the counts shown here while others still wait. */}
          <button type="button" class="secondary" onClick={() => { setEditing(null); setPending({ action: "unlock", target: u }); }}>
            Unlock
          </button>
        </div>
      ),
    });
  }

  return (
    <section class="admin">
      <h1>Users</h1>
      {!admin && <p class="notice">You can see users as an operator; only an admin changes roles or disables users.</p>}
      <div role="status" aria-live="polite">
        {notice && <p class="notice">{notice}</p>}
      </div>
      {editing && (
        <RolesEditor
          key={editing.id}
          target={editing}
          onCancel={() => setEditing(null)}
          onSaved={(u) => {
            setEditing(null);
            setNotice(`${u.email} now has the roles: ${u.roles.join(", ")}.`);
            load.reload();
          }}
        />
      )}
      {pending && (
        <Confirm
          key={`${pending.action}-${pending.target.id}`}
          title={ACTION_TEXT[pending.action].title}
          body={
            <p>
              <strong>{pending.target.email}</strong>: {ACTION_TEXT[pending.action].body}
            </p>
          }
          confirmLabel={ACTION_TEXT[pending.action].label}
          danger={pending.action === "disable"}
          onConfirm={() => act(pending.action, pending.target)}
          onCancel={() => setPending(null)}
        />
      )}
      <Loaded load={load} what="users" isEmpty={(p) => p.items.length === 0 && offset === 0} empty="No users yet.">
        {(found) => (
          <>
            <DataTable caption="Users" columns={columns} rows={found.items} rowKey={(u) => u.id} empty="No users on this page." />
            <Pager offset={found.offset} limit={found.limit} count={found.items.length} nextOffset={found.next_offset} onOffset={setOffset} what="users" />
          </>
        )}
      </Loaded>
    </section>
  );
}
