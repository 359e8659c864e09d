/**
 * Resume and Cancel, for run rows and the run view. Resume continues a top-level run that
 * stopped (waiting, failed, cancelled, over budget) in a worker process of the server; Cancel
 * stops a run that is still going (after a confirmation). Both ask the server, then say how it
 * went in a notification and call `changed` so what shows the run refreshes.
 */
import { Dialog, Notification, showDialog } from '@jupyterlab/apputils';

import { OrcApiError, OrcClient } from './api';
import { IRunAction } from './runrow';
import { ACTIVE, IRun } from './types';

/** Runs `POST runs/{id}/resume` accepts (as the server's store.control.RESUMABLE). */
export const RESUMABLE: string[] = ['waiting', 'failed', 'cancelled', 'budget_exceeded'];

type RunState = Pick<IRun, 'status' | 'parent_run_id'>;

/** A sub-pipeline run is resumed and cancelled through its outermost run. */
export function canResume(run: RunState): boolean {
  return RESUMABLE.includes(run.status) && !run.parent_run_id;
}

export function canCancel(run: RunState): boolean {
  return ACTIVE.includes(run.status) && !run.parent_run_id;
}

export interface IRunActionsOptions {
  client: OrcClient;
  /** Called after the server accepted the request (the run's state changed). */
  changed: (runId: string) => void;
  /** Ask before cancelling (a dialog); tests may answer directly. */
  confirm?: (run: IRun) => Promise<boolean>;
}

export function runActions(options: IRunActionsOptions): IRunAction[] {
  const { client, changed } = options;
  const confirm = options.confirm ?? confirmCancel;
  return [
    {
      id: 'resume',
      label: 'Resume',
      title: 'Continue this run: finished steps are kept, decided approvals are taken',
      applies: canResume,
      run: run =>
        void act(run, 'resume', async () => {
          const out = await client.resumeRun(run.run_id);
          return `Resuming ${run.pipeline} (${run.run_id}); it was ${out.previous ?? run.status}.`;
        })
    },
    {
      id: 'cancel',
      label: 'Cancel',
      title: 'Stop this run (and its sub-pipeline runs)',
      applies: canCancel,
      run: run =>
        void (async () => {
          if (await confirm(run)) {
            await act(run, 'cancel', async () => {
              const out = await client.cancelRun(run.run_id);
              return `${run.pipeline} (${run.run_id}) is ${out.status}.`;
            });
          }
        })()
    }
  ];

  async function act(run: IRun, what: string, request: () => Promise<string>): Promise<void> {
    try {
      Notification.success(await request(), { autoClose: 5000 });
      changed(run.run_id);
    } catch (e) {
      Notification.error(
        `Cannot ${what} ${run.run_id}: ${e instanceof OrcApiError ? e.message : String(e)}`,
        { autoClose: 10000 }
      );
      changed(run.run_id); // the run may have moved on meanwhile: show how it is
    }
  }
}

async function confirmCancel(run: IRun): Promise<boolean> {
  const result = await showDialog({
    title: `Cancel ${run.pipeline}?`,
    body: `Run ${run.run_id} (${run.status}) stops; its finished steps are kept, and it can be resumed.`,
    buttons: [
      Dialog.cancelButton({ label: 'Keep running' }),
      Dialog.warnButton({ label: 'Cancel run' })
    ]
  });
  return result.button.accept;
}
