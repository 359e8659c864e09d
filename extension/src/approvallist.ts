/**
 * "Waiting for approval (n)": one card per pending approval, keyed by run, step and round, so a
 * card being read or answered (a half-typed comment, an open "Request changes") stays as it is
 * while others come and go.
 */
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';

import { OrcClient } from './api';
import { ApprovalCard } from './approvals';
import { h, setText } from './dom';
import { KeyedList } from './keyed';
import { IApproval, IDecisionResult } from './types';

export interface IApprovalListOptions {
  client: OrcClient;
  rendermime: IRenderMimeRegistry | null;
  onDecided: (result: IDecisionResult) => void;
  onOpenRun: (runId: string) => void;
}

export function approvalKey(a: IApproval): string {
  return JSON.stringify([a.run_id, a.step_id, a.round]);
}

export class ApprovalList {
  readonly node: HTMLElement;

  constructor(options: IApprovalListOptions) {
    this._title = h('h3', {});
    const cards = h('div', { className: 'jp-orc-approval-cards' });
    this._cards = new KeyedList<IApproval, ApprovalCard>({
      container: cards,
      key: approvalKey,
      create: a => new ApprovalCard(a, options)
    });
    this.node = h('div', { className: 'jp-orc-approvals', hidden: true }, this._title, cards);
  }

  update(approvals: readonly IApproval[]): void {
    this._cards.update(approvals);
    if (this.node.hidden !== !approvals.length) {
      this.node.hidden = !approvals.length;
    }
    setText(this._title, `Waiting for approval (${approvals.length})`);
  }

  private _title: HTMLElement;
  private _cards: KeyedList<IApproval, ApprovalCard>;
}
