/** #/admin/dead-letters: the events that failed their handler too many times and went
 * to `<topic>.dlq`, newest first, as the dead-letter service keeps them (its newest
 * 1,000 since it started, in memory), a page at a time. */

import { Fragment } from "preact";
import { useState } from "preact/hooks";
import { ApiError, get } from "../../lib/api";
import { deadLetteredAt, newestFirst, utcTime, type DeadLetter, type Page } from "../../lib/admin";
import { Empty, ErrorBox, Loaded, useLoad } from "../../components/states";
import { Pager } from "../../components/table";
import "./admin.css";

const SHORT_REASON = 80;
const LIMIT = 50;

function short(text: string): string {
  return text.length > SHORT_REASON ? `${text.slice(0, SHORT_REASON - 1)}…` : text;
}

function LetterRows({ letter, open, toggle }: { letter: DeadLetter; open: boolean; toggle: () => void }) {
  const detailId = `dl-${letter.dead_letter_id}`;
  return (
    <Fragment>
      <tr>
        <td>{utcTime(deadLetteredAt(letter))}</td>
        <td>
          <code>{letter.topic}</code>
        </td>
        <td>
          <code>{letter.group}</code>
        </td>
        <td class="num">{letter.attempts}</td>
        <td>{short(letter.reason)}</td>
        <td>
          <button type="button" class="secondary" aria-expanded={open} aria-controls={open ? detailId : undefined} onClick={toggle}>
            {open ? "Hide" : "Details"}
          </button>
        </td>
      </tr>
      {open && (
        <tr id={detailId} class="detail-row">
          <td colSpan={6}>
            <dl class="detail">
              <dt>Reason</dt>
              <dd class="wrap">{letter.reason}</dd>
              <dt>Event id</dt>
              <dd>
                <code>{letter.event_id}</code>
              </dd>
              <dt>Dead letter id</dt>
              <dd>
                <code>{letter.dead_letter_id}</code>
              </dd>
              <dt>Dead-lettered at</dt>
              <dd>{utcTime(deadLetteredAt(letter))}</dd>
            </dl>
          </td>
        </tr>
      )}
    </Fragment>
  );
}

export function DeadLetters() {
  const [offset, setOffset] = useState(0);
  const load = useLoad(async () => {
    const found = await get<Page<DeadLetter>>("/admin/dead-letters", { limit: LIMIT, offset });
    return { ...found, items: newestFirst(found.items) };
  }, [offset]);
  const [open, setOpen] = useState<Set<string>>(new Set());
  const toggle = (id: string) =>
    setOpen((old) => {
      const copy = new Set(old);
      if (!copy.delete(id)) copy.add(id);
      return copy;
    });
  const unreachable = load.error instanceof ApiError && load.error.status === 503;

  return (
    <section class="admin">
      <h1>Dead letters</h1>
      <p class="muted">
        Events a service could not handle after its retries. Each names where it failed (topic and consumer group) and why; the ids find it in the
        services' logs.
      </p>
      <div class="actions">
        <button type="button" class="secondary" onClick={load.reload}>
          Refresh
        </button>
      </div>
      {unreachable && load.data === undefined ? (
        <ErrorBox
          error={`The dead-letter service is not reachable (${(load.error as ApiError).detail}). It may not be running, or it runs where this gateway cannot ask it.`}
          retry={load.reload}
        />
      ) : (
        <Loaded load={load} what="dead letters">
          {({ items: letters, ...found }) =>
            letters.length === 0 && offset === 0 ? (
              <Empty>No dead letters: every event was handled.</Empty>
            ) : (
              <>
              <div class="table-wrap">
                <table>
                  <caption>Dead letters, newest first</caption>
                  <thead>
                    <tr>
                      <th scope="col">Dead-lettered at</th>
                      <th scope="col">Topic</th>
                      <th scope="col">Group</th>
                      <th scope="col" class="num">
                        Attempts
                      </th>
                      <th scope="col">Reason</th>
                      <th scope="col">Detail</th>
                    </tr>
                  </thead>
                  <tbody>
                    {letters.length === 0 && (
                      <tr>
                        <td colSpan={6} class="muted">
                          No dead letters on this page.
                        </td>
                      </tr>
                    )}
                    {letters.map((letter) => (
                      <LetterRows
                        key={letter.dead_letter_id}
                        letter={letter}
                        open={open.has(letter.dead_letter_id)}
                        toggle={() => toggle(letter.dead_letter_id)}
                      />
                    ))}
                  </tbody>
                </table>
              </div>
              <Pager offset={found.offset} limit={found.limit} count={letters.length} nextOffset={found.next_offset} onOffset={setOffset} what="dead letters" />
              </>
            )
          }
        </Loaded>
      )}
    </section>
  );
}
