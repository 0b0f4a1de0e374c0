/** The shared ConfirmDialog (components/dialog.tsx) for an action that calls the API:
 * both buttons wait while it runs, and a refusal's detail is shown inside the dialog,
 * which stays open so the operator sees why. */

import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { ApiError } from "../../lib/api";
import { ConfirmDialog } from "../../components/dialog";

export interface ConfirmProps {
  title: string;
  body: ComponentChildren;
  confirmLabel: string;
  /** Runs the action; the caller closes the dialog when it succeeds. */
  onConfirm: () => Promise<void>;
  onCancel: () => void;
  danger?: boolean;
}

export function Confirm({ title, body, confirmLabel, onConfirm, onCancel, danger = true }: ConfirmProps) {
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<string | null>(null);

  async function confirm() {
    setBusy(true);
    setFailure(null);
    try {
      await onConfirm();
    } catch (error) {
      setFailure(error instanceof ApiError ? error.detail : String(error));
      setBusy(false);
    }
  }

  return (
    <ConfirmDialog
      title={title}
      body={
        <>
          {body}
          {failure && (
            <p role="alert" class="field-error">
              {failure}
            </p>
          )}
        </>
      }
      confirmLabel={confirmLabel}
      danger={danger}
      busy={busy}
      onConfirm={() => void confirm()}
      onCancel={onCancel}
    />
  );
}
