import { type ReactNode, useEffect, useId, useRef, useState } from "react";
import { describeFailure } from "../api";

/**
 * A modal built on the native <dialog>: focus moves in, Escape closes, focus returns. Each
 * dialog is named by its own title, also when one opens over another.
 */
export function Dialog(props: { title: string; onClose(): void; children: ReactNode }) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const dialog = ref.current;
    const opener = document.activeElement as HTMLElement | null;
    dialog?.showModal();
    return () => {
      dialog?.close();
      opener?.focus();
    };
  }, []);
  return (
    <dialog
      ref={ref}
      aria-labelledby={titleId}
      onCancel={(event) => {
        event.preventDefault();
        event.stopPropagation();
        props.onClose();
      }}
    >
      <h2 id={titleId}>{props.title}</h2>
      {props.children}
    </dialog>
  );
}

/**
 * A dialog asking to confirm one irreversible action: Cancel, or the action's button, whose
 * refusal by the server is shown in the dialog, which then stays open.
 */
export function ConfirmDialog(props: {
  title: string;
  action: string;
  onClose(): void;
  onConfirm(): Promise<void>;
  children: ReactNode;
}) {
  const [refusal, setRefusal] = useState("");
  return (
    <Dialog title={props.title} onClose={props.onClose}>
      {props.children}
      <p className="field-error" role="alert">
        {refusal}
      </p>
      <div className="actions">
        <button type="button" onClick={props.onClose}>
          Cancel
        </button>
        <button
          type="button"
          className="danger"
          onClick={async () => {
            try {
              await props.onConfirm();
            } catch (error) {
              setRefusal(describeFailure(error));
            }
          }}
        >
          {props.action}
        </button>
      </div>
    </Dialog>
  );
}
