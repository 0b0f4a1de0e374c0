/** "Delete bot" on the bot page: asked in the page, then DELETE /bots/{id} (the API
 * stops a running bot first) and back to the list; a refusal shown as the API says it. */

import { useState } from "preact/hooks";
import { ApiError, del } from "../lib/api";
import { shortId } from "../lib/format";
import { navigate } from "../lib/router";
import type { BotView } from "../lib/views";
import { ConfirmDialog } from "../components/dialog";
import "./bot_delete.css";

/** "Delete bot", confirmed in the page; the API stops a running bot first. */
export function DeleteBot({ bot }: { bot: BotView }) {
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<string | null>(null);

  async function remove() {
    setBusy(true);
    setFailure(null);
    try {
      await del(`/bots/${encodeURIComponent(bot.id)}`);
      navigate("/bots");
    } catch (error) {
      setFailure(error instanceof ApiError ? error.detail : String(error));
      setBusy(false);
      setAsking(false);
    }
  }

  return (
    <>
      <div class="actions bot-delete">
        <button type="button" class="secondary" onClick={() => setAsking(true)}>
          Delete bot
        </button>
      </div>
      {failure && (
        <p class="state error" role="alert">
          {failure}
        </p>
      )}
      {asking && (
        <ConfirmDialog
          title="Delete this bot?"
          body={
            <p>
              The {bot.strategy} bot <code>{shortId(bot.id)}</code> is stopped first if it runs, then deleted with its
              parameters and risk limits. Its orders and fills stay in your history.
            </p>
          }
          confirmLabel="Delete bot"
          busy={busy}
          onConfirm={() => void remove()}
          onCancel={() => setAsking(false)}
        />
      )}
    </>
  );
}
