/**
 * An approval card: the question, what to look at, and Approve / Request changes / Reject.
 * The decision goes to the store (POST /orc/api/approvals); a live run picks it up at once,
 * a stored (deferred) run on `orc resume`.
 */
import { Dialog, Notification, showDialog } from '@jupyterlab/apputils';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';

import { OrcApiError, OrcClient } from './api';
import { h, setText } from './dom';
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
    buttons,
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

  async function send(decision: Decision, text?: string): Promise<void> {
    error.textContent = '';
    if (decision === 'request_changes' && !(text || '').trim()) {
      error.textContent = 'Write what should change first.';
      comment.focus();
      return;
    }
    card.classList.add('jp-orc-busy');
    card.querySelectorAll('button').forEach(b => (b.disabled = true));
    try {
      const result = await options.client.decide(approval.run_id, approval.step_id, decision, text);
      card.classList.add('jp-orc-decided');
      card.dataset.decision = result.decision;
      Notification.success(
        `${result.decision.replace('_', ' ')}: ${result.step_id} of run ${result.run_id}. ` +
          (result.live ? 'The run continues in its notebook.' : `Continue it: ${result.next}`),
        { autoClose: 8000 }
      );
      options.onDecided(result);
    } catch (e) {
      const message = e instanceof OrcApiError ? e.message : String(e);
      error.textContent = message;
      card.querySelectorAll('button').forEach(b => (b.disabled = false));
    } finally {
      card.classList.remove('jp-orc-busy');
    }
  }

  return { card, meta };
}
