/**
 * An approval card: the question, what to look at, and Approve / Edit / Request changes /
 * Reject. A gate with a form (`input: {schema}`) shows it; approving sends its values. Edit
 * (when the gate reviews a step's output) approves with your version of it (approvaledit.ts).
 * The decision goes to the store (POST /orc/api/approvals); a live run picks it up at once,
 * a stored (deferred) run when it is resumed.
 */
import { Dialog, Notification, showDialog } from '@jupyterlab/apputils';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';

import { IDecisionExtras, OrcApiError, OrcClient } from './api';
import { EditPanel } from './approvaledit';
import { h, setText } from './dom';
import { GateForm } from './gateform';
import { when } from './format';
import { IRow } from './keyed';
import { markdown } from './outputs';
import { Decision, IApproval, IDecisionResult } from './types';

export interface IApprovalCardOptions {
  client: OrcClient;
  rendermime: IRenderMimeRegistry | null;
  /** Called after the store recorded a decision. */
  onDecided: (result: IDecisionResult) => void;
  /** Called when the user asks to see the run. */
  onOpenRun?: (runId: string) => void;
}

/** A card as a keyed row: the same approval (run, step, round) keeps its card and comment. */
export class ApprovalCard implements IRow<IApproval> {
  readonly node: HTMLElement;

  constructor(approval: IApproval, options: IApprovalCardOptions) {
    const { card, meta } = build(approval, options);
    this.node = card;
    this._meta = meta;
  }

  update(approval: IApproval): void {
    setText(this._meta, metaLine(approval));
  }

  private _meta: HTMLElement;
}

function metaLine(approval: IApproval): string {
  return `${approval.live ? 'live' : 'stored'} · round ${approval.round} · ${when(approval.started_at)}`;
}

export function approvalCard(approval: IApproval, options: IApprovalCardOptions): HTMLElement {
  return build(approval, options).card;
}

function build(
  approval: IApproval,
  options: IApprovalCardOptions
): { card: HTMLElement; meta: HTMLElement } {
  const comment = h('textarea', {
    className: 'jp-orc-comment',
    rows: 3,
    placeholder: 'What should change? (sent to the step that is regenerated)'
  });
  const error = h('div', { className: 'jp-orc-error', role: 'alert' });
  const changes = h(
    'div',
    { className: 'jp-orc-changes', hidden: true },
    comment,
    h(
      'button',
      {
        className: 'jp-Button jp-mod-styled jp-mod-accept jp-orc-send-changes',
        onclick: () => void send('request_changes', comment.value)
      },
      'Send request'
    )
  );
  const gate = approval.input_schema ? new GateForm(approval.input_schema) : null;
  const edit = approval.editable
    ? new EditPanel(approval.show, () => void send('approve', '', true))
    : null;
  const buttons = h(
    'div',
    { className: 'jp-orc-buttons' },
    h(
      'button',
      {
        className: 'jp-Button jp-mod-styled jp-mod-accept jp-orc-approve',
        title: 'Approve: the run continues',
        onclick: () => void send('approve')
      },
      'Approve'
    ),
    edit
      ? h(
          'button',
          {
            className: 'jp-Button jp-mod-styled jp-orc-edit-toggle',
            title: 'Edit: approve with your version of the content under review',
            onclick: () => edit.toggle()
          },
          'Edit'
        )
      : null,
    h(
      'button',
      {
        className: 'jp-Button jp-mod-styled jp-orc-request-changes',
        title: 'Request changes: the upstream step is regenerated with your comment',
        onclick: () => {
          changes.hidden = !changes.hidden;
          if (!changes.hidden) {
            comment.focus();
          }
        }
      },
      'Request changes'
    ),
    h(
      'button',
      {
        className: 'jp-Button jp-mod-styled jp-mod-warn jp-orc-reject',
        title: 'Reject: the run stops',
        onclick: () => void confirmReject()
      },
      'Reject'
    )
  );
  const meta = h('span', { className: 'jp-orc-muted' }, metaLine(approval));
  const card = h(
    'div',
    {
      className: 'jp-orc-approval',
      'data-run-id': approval.run_id,
      'data-step': approval.step_id
    },
    h(
      'div',
      { className: 'jp-orc-approval-head' },
      h('span', { className: 'jp-orc-approval-step' }, approval.step_id),
      h(
        'a',
        {
          className: 'jp-orc-link',
          href: '#',
          title: 'Open the run',
          onclick: (e: Event) => {
            e.preventDefault();
            options.onOpenRun?.(approval.run_id);
          }
        },
        `${approval.pipeline} · ${approval.run_id}`
      ),
      meta
    ),
    h('div', { className: 'jp-orc-question' }, approval.question || 'Approve this step?'),
    approval.show
      ? h('div', { className: 'jp-orc-show' }, markdown(approval.show, options.rendermime))
      : null,
    gate?.node,
    buttons,
    edit?.node,
    changes,
    error
  );

  async function confirmReject(): Promise<void> {
    const result = await showDialog({
      title: `Reject ${approval.step_id}?`,
      body: `The run ${approval.run_id} (${approval.pipeline}) stops as failed.`,
      buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Reject' })]
    });
    if (result.button.accept) {
      await send('reject');
    }
  }

  /** What goes with an approval: the form's values and the edit, or null if one is wrong. */
  function extras(withEdit: boolean): IDecisionExtras | null {
    const out: IDecisionExtras = {};
    if (gate) {
      const input = gate.read();
      if (input === null) {
        error.textContent = 'Fill in the form first.';
        return null;
      }
      out.input = input;
    }
    if (withEdit && edit) {
      const edited = edit.read();
      if (edited === null) {
        return null;
      }
      out.edited = edited.value;
    }
    return out;
  }

  async function send(decision: Decision, text?: string, withEdit = false): Promise<void> {
    error.textContent = '';
    if (decision === 'request_changes' && !(text || '').trim()) {
      error.textContent = 'Write what should change first.';
      comment.focus();
      return;
    }
    const more = decision === 'approve' ? extras(withEdit) : {};
    if (more === null) {
      return;
    }
    card.classList.add('jp-orc-busy');
    card.querySelectorAll('button').forEach(b => (b.disabled = true));
    try {
      const result = await options.client.decide(
        approval.run_id,
        approval.step_id,
        decision,
        text,
        more
      );
      card.classList.add('jp-orc-decided');
      card.dataset.decision = result.decision;
      Notification.success(
        `${result.decision.replace('_', ' ')}${more.edited !== undefined ? ' with edits' : ''}: ` +
          `${result.step_id} of run ${result.run_id}. ` +
          (result.live
            ? 'The run continues where it runs.'
            : `Continue it with Resume (or ${result.next}).`),
        { autoClose: 8000 }
      );
      options.onDecided(result);
    } catch (e) {
      if (!(e instanceof OrcApiError && gate?.showError(e))) {
        const message = e instanceof OrcApiError ? e.message : String(e);
        if (e instanceof OrcApiError && e.field === 'edited' && edit) {
          edit.showError(message);
        } else {
          error.textContent = message;
        }
      }
      card.querySelectorAll('button').forEach(b => (b.disabled = false));
    } finally {
      card.classList.remove('jp-orc-busy');
    }
  }

  return { card, meta };
}
