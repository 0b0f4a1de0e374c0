/** Exchange accounts: the caller's accounts (the key masked, as the API returns it),
 * connecting one (the venue checks the key first; a key that can withdraw or transfer
 * is refused, and the form says what to do), verifying a key again, removing one. */

import { useState } from "preact/hooks";
import { ApiError, del, get, post } from "../lib/api";
import { formatTime } from "../lib/format";
import { canTrade } from "../lib/session";
import { accountName, type AccountView, type Page } from "../lib/views";
import { Loaded, useLoad } from "../components/states";
import { ConfirmDialog } from "../components/dialog";
import { ConnectForm, REFUSED_KEY_HELP, REJECTED_KEY_HELP } from "./connect_account";
import "./accounts.css";

interface KeyCheck {
  can_trade: boolean;
  can_withdraw: boolean;
  can_transfer: boolean;
  ip_restricted: boolean;
  refusal: string | null;
}

interface Verification {
  account: AccountView;
  check: KeyCheck;
}

const MAX_PAGES = 10;

/** Every item of a paged list, up to MAX_PAGES pages of 100. */
export async function allPages<T>(path: string): Promise<T[]> {
  const items: T[] = [];
  let offset: number | null = 0;
  for (let n = 0; n < MAX_PAGES && offset !== null; n++) {
    const page: Page<T> = await get<Page<T>>(path, { limit: 100, offset });
    items.push(...page.items);
    offset = page.next_offset;
  }
  return items;
}

export const listAccounts = () => allPages<AccountView>("/accounts");

// -- actions on one account (this page and pages/account.tsx) --------------------------

/** What an action on an account said: a status, or an alert (a refusal, a failure). */
export type Message = { kind: "status" | "alert"; lines: string[] } | null;

export function statusClass(status: string): string {
  if (status === "verified") return "badge verified";
  if (status === "refused" || status === "rejected") return "badge refused";
  return "badge";
}

function verificationMessage(account: AccountView, check: KeyCheck): Message {
  const name = `“${accountName(account)}”`;
  if (check.refusal) {
    return { kind: "alert", lines: [`${name}: ${check.refusal}.`, "Its bots will not trade with this key.", REFUSED_KEY_HELP] };
  }
  const extra = check.ip_restricted ? " It is restricted to known IP addresses." : "";
  return { kind: "status", lines: [`${name} is verified: the key can trade and cannot withdraw or transfer funds.${extra}`] };
}

/** Check an account's stored key with its venue again: what came of it, as a message
 * (it never throws). */
export async function verifyAccount(account: AccountView): Promise<Message> {
  try {
    const result = await post<Verification>(`/accounts/${encodeURIComponent(account.id)}/verify`);
    return verificationMessage(result.account, result.check);
  } catch (error) {
    const detail = error instanceof ApiError ? error.detail : String(error);
    const lines = [`“${accountName(account)}” could not be verified: ${detail}`];
    if (error instanceof ApiError && error.code === "key_rejected") lines.push(REJECTED_KEY_HELP);
    return { kind: "alert", lines };
  }
}

/** Remove an account (its bots stopped first): whether it went, and the message. */
export async function removeAccount(account: AccountView): Promise<{ removed: boolean; message: Message }> {
  try {
    await del(`/accounts/${encodeURIComponent(account.id)}`);
    const lines = [`“${accountName(account)}” was removed, with its key; its bots were stopped.`];
    return { removed: true, message: { kind: "status", lines } };
  } catch (error) {
    const detail = error instanceof ApiError ? error.detail : String(error);
    return { removed: false, message: { kind: "alert", lines: [`“${accountName(account)}” was not removed: ${detail}`] } };
  }
}

/** A status in a live region that is always there (so it is announced), an alert below. */
export function AccountMessage({ message }: { message: Message }) {
  return (
    <>
      <div role="status" aria-live="polite" class="accounts-status">
        {message?.kind === "status" && <p class="notice ok">{message.lines.join(" ")}</p>}
      </div>
      {message?.kind === "alert" && (
        <div class="state error" role="alert">
          {message.lines.map((line) => (
            <p key={line}>{line}</p>
          ))}
        </div>
      )}
    </>
  );
}

/** The in-page confirmation before an account is removed. */
export function RemoveAccountDialog({
  account,
  busy,
  onConfirm,
  onCancel,
}: {
  account: AccountView;
  busy: boolean;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  return (
    <ConfirmDialog
      title="Remove this exchange account?"
      body={
        <p>
          “{accountName(account)}” ({account.venue}, key <span class="mono">{account.api_key}</span>) and its encrypted
          key will be removed. Its running bots are stopped first. Your funds stay on the exchange.
        </p>
      }
      confirmLabel="Remove account"
      busy={busy}
      onConfirm={onConfirm}
      onCancel={onCancel}
    />
  );
}

// -- the list --------------------------------------------------------------------------

export function Accounts() {
  const load = useLoad(listAccounts, []);
  const trader = canTrade.value;
  const [message, setMessage] = useState<Message>(null);
  const [verifying, setVerifying] = useState<string | null>(null);
  const [removing, setRemoving] = useState<AccountView | null>(null);
  const [removeBusy, setRemoveBusy] = useState(false);

  const verify = async (account: AccountView) => {
    setVerifying(account.id);
    setMessage(null);
    setMessage(await verifyAccount(account));
    setVerifying(null);
    load.reload();
  };

  const remove = async () => {
    if (!removing) return;
    setRemoveBusy(true);
    setMessage((await removeAccount(removing)).message);
    setRemoveBusy(false);
    setRemoving(null);
    load.reload();
  };

  return (
    <section class="accounts-page">
      <h1>Exchange accounts</h1>
      {trader && (
        <ConnectForm
          onConnected={(account) => {
            setMessage({ kind: "status", lines: [`“${accountName(account)}” is connected and its key verified.`] });
            load.reload();
          }}
        />
      )}
      <AccountMessage message={message} />
      <Loaded
        load={load}
        what="your exchange accounts"
        isEmpty={(accounts) => accounts.length === 0}
        empty={
          trader
            ? "You have no exchange accounts yet. Connect one with the form above: bots trade on an account you connect."
            : "There are no exchange accounts yet."
        }
      >
        {(accounts) => (
          <div class="table-wrap">
            <table>
              <caption>Your exchange accounts</caption>
              <thead>
                <tr>
                  <th scope="col">Label</th>
                  <th scope="col">Exchange</th>
                  <th scope="col">API key</th>
                  <th scope="col">Valuation asset</th>
                  <th scope="col">Status</th>
                  <th scope="col">Verified</th>
                  {trader && <th scope="col">Actions</th>}
                </tr>
              </thead>
              <tbody>
                {accounts.map((account) => (
                  <tr key={account.id}>
                    <td>
                      <a href={`#/accounts/${encodeURIComponent(account.id)}`}>
                        {accountName(account)}
                      </a>
                    </td>
                    <td>{account.venue}</td>
                    <td class="mono">{account.api_key}</td>
                    <td>{account.valuation_asset}</td>
                    <td>
                      <span class={statusClass(account.status)}>{account.status}</span>
                    </td>
                    <td>{formatTime(account.verified_at)}</td>
                    {trader && (
                      <td>
                        <div class="actions">
                          <button
                            type="button"
                            class="secondary"
                            disabled={verifying !== null}
                            onClick={() => void verify(account)}
                          >
                            {verifying === account.id ? "Verifying…" : "Verify"}
                          </button>
                          <button type="button" class="danger" onClick={() => setRemoving(account)}>
                            Remove
                          </button>
                        </div>
                      </td>
                    )}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Loaded>
      {removing && (
        <RemoveAccountDialog
          account={removing}
          busy={removeBusy}
          onConfirm={() => void remove()}
          onCancel={() => setRemoving(null)}
        />
      )}
    </section>
  );
}
