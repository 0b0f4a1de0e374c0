/** One exchange account (#/accounts/ID): its venue, masked key, verification and
 * valuation asset; its valuation (live from the stream); its bots; its risk limits and
 * a halt they caused; and, for traders, Verify and Remove as on the accounts page. */

import { useEffect, useState } from "preact/hooks";
import { ApiError, get } from "../lib/api";
import { formatTime } from "../lib/format";
import { live, startLive, type PortfolioView } from "../lib/live";
import { canTrade } from "../lib/session";
import { accountName, type AccountView, type BotView } from "../lib/views";
import { ErrorBox, Loaded, Loading, useLoad } from "../components/states";
import { DataTable } from "../components/table";
import { AccountRiskLimits } from "../components/risk_limits";
import {
  AccountMessage,
  allPages,
  removeAccount,
  RemoveAccountDialog,
  statusClass,
  verifyAccount,
  type Message,
} from "./accounts";
import { botName } from "./bots";
import { StaleNotice, Valuation } from "./portfolio";
import "./portfolio.css";
import "./account.css";

export function AccountDetail({ id }: { id: string }) {
  const load = useLoad(() => get<AccountView>(`/accounts/${encodeURIComponent(id)}`), [id]);
  useEffect(() => startLive(), []);
  const account = load.data;
  if (account === undefined) {
    return (
      <section>
        <h1>Exchange account</h1>
        {load.error !== undefined ? <ErrorBox error={load.error} retry={load.reload} /> : <Loading what="the account" />}
      </section>
    );
  }
  return <AccountPage key={account.id} account={account} reload={load.reload} error={load.error} />;
}

function AccountPage({ account, reload, error }: { account: AccountView; reload: () => void; error: unknown }) {
  const name = accountName(account);
  const trader = canTrade.value;
  const [message, setMessage] = useState<Message>(null);
  const [verifying, setVerifying] = useState(false);
  const [removing, setRemoving] = useState(false);
  const [removeBusy, setRemoveBusy] = useState(false);
  const [removed, setRemoved] = useState(false);

  const verify = async () => {
    setVerifying(true);
    setMessage(null);
    setMessage(await verifyAccount(account));
    setVerifying(false);
    reload();
  };

  const remove = async () => {
    setRemoveBusy(true);
    const outcome = await removeAccount(account);
    setRemoveBusy(false);
    setRemoving(false);
    setMessage(outcome.message);
    setRemoved(outcome.removed);
  };

  if (removed) {
    return (
      <section class="account-page">
        <h1>{name}</h1>
        <AccountMessage message={message} />
        <p>
          <a href="#/accounts">Back to your exchange accounts</a>
        </p>
      </section>
    );
  }

  return (
    <section class="account-page">
      <h1>{name}</h1>
      <StaleNotice />
      {error !== undefined && <ErrorBox error={error} retry={reload} />}
      <div class="panel account-head">
        <dl class="metrics account-facts">
          <div>
            <dt>Exchange</dt>
            <dd>{account.venue}</dd>
          </div>
          <div>
            <dt>API key</dt>
            <dd class="mono">{account.api_key}</dd>
          </div>
          <div>
            <dt>Status</dt>
            <dd>
              <span class={statusClass(account.status)}>{account.status}</span>
            </dd>
          </div>
          <div>
            <dt>Verified</dt>
            <dd>{formatTime(account.verified_at)}</dd>
          </div>
          <div>
            <dt>Valuation asset</dt>
            <dd>{account.valuation_asset}</dd>
          </div>
          <div>
            <dt>Connected</dt>
            <dd>{formatTime(account.created_at)}</dd>
          </div>
        </dl>
        {trader && (
          <div class="actions">
            <button type="button" class="secondary" disabled={verifying} onClick={() => void verify()}>
              {verifying ? "Verifying…" : "Verify"}
            </button>
            <button type="button" class="danger" onClick={() => setRemoving(true)}>
              Remove
            </button>
          </div>
        )}
      </div>
      <AccountMessage message={message} />
      <h2>Valuation</h2>
      <AccountValuation account={account} name={name} />
      <h2>Bots</h2>
      <AccountBots account={account} />
      <AccountRiskLimits accountId={account.id} />
      {removing && (
        <RemoveAccountDialog
          account={account}
          busy={removeBusy}
          onConfirm={() => void remove()}
          onCancel={() => setRemoving(false)}
        />
      )}
    </section>
  );
}

/** Reads the account's valuation into the live store (which the stream keeps
 * current); false when it has none yet. */
async function readValuation(accountId: string): Promise<boolean> {
  try {
    live.seed([await get<PortfolioView>(`/accounts/${encodeURIComponent(accountId)}/portfolio`)]);
    return true;
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return false;
    throw error;
  }
}

function AccountValuation({ account, name }: { account: AccountView; name: string }) {
  const read = useLoad(() => readValuation(account.id), [account.id]);
  const view = live.portfolio(account.id).value;
  if (!view) {
    if (read.loading) return <Loading what="the valuation" />;
    if (read.error !== undefined) return <ErrorBox error={read.error} retry={read.reload} />;
    return (
      <p class="state empty">No valuation of this account yet: it appears once the platform has read its balances.</p>
    );
  }
  return (
    <Valuation
      view={view}
      name={name}
      more={
        <>
          {" "}
          · charts and analytics on the <a href="#/">Portfolio</a> page
        </>
      }
    />
  );
}

function AccountBots({ account }: { account: AccountView }) {
  // The API lists the caller's bots, not an account's: the account's are picked out.
  const load = useLoad(
    () => allPages<BotView>("/bots").then((bots) => bots.filter((b) => b.account_id === account.id)),
    [account.id],
  );
  return (
    <Loaded
      load={load}
      what="the account's bots"
      isEmpty={(bots) => bots.length === 0}
      empty={
        canTrade.value ? (
          <>
            No bots on this account yet. <a href="#/bots/new">Create a bot</a> and choose this account.
          </>
        ) : (
          "No bots on this account yet."
        )
      }
    >
      {(bots) => (
        <DataTable<BotView>
          caption={`Bots on ${accountName(account)}`}
          rows={bots}
          rowKey={(b) => b.id}
          columns={[
            {
              key: "bot",
              header: "Bot",
              render: (b) => <a href={`#/bots/${encodeURIComponent(b.id)}`}>{botName(b)}</a>,
            },
            { key: "state", header: "State", render: (b) => <span class={`badge ${b.state}`}>{b.state}</span> },
            { key: "updated_at", header: "Updated", render: (b) => formatTime(b.updated_at) },
          ]}
        />
      )}
    </Loaded>
  );
}
