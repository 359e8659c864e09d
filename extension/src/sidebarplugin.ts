/**
 * The sidebar plugin: the "Orchestrator" panel in the left area, the run views, and the
 * commands to reach them (command palette and View menu). It needs no JupyterLab-only service,
 * so it runs in JupyterLab and in Jupyter Notebook 7 alike; see runviews.ts for where runs open.
 */
import {
  ILabShell,
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { IMainMenu } from '@jupyterlab/mainmenu';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';

import { COMMANDS } from './commands';
import { serverClient } from './connection';
import { orcIcon } from './icon';
import { RunView } from './runview';
import { DockedRunViews, IRunViewHost, SidePanelRunView } from './runviews';
import { OrcSidebar } from './sidebar';

export const sidebarPlugin: JupyterFrontEndPlugin<void> = {
  id: 'orchestrator-nb:sidebar',
  description: 'The Orchestrator sidebar: runs, run views and approvals.',
  autoStart: true,
  optional: [ILabShell, IRenderMimeRegistry, ILayoutRestorer, ICommandPalette, IMainMenu],
  activate: (
    app: JupyterFrontEnd,
    labShell: ILabShell | null,
    rendermime: IRenderMimeRegistry | null,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null,
    mainMenu: IMainMenu | null
  ) => {
    const client = serverClient();
    const openRun = (runId: string) => void app.commands.execute(COMMANDS.openRun, { runId });
    const openFile = (path: string) => void app.commands.execute('docmanager:open', { path });
    const makeView = (runId: string) =>
      new RunView({ runId, client, rendermime, openRun, openFile });
    const docked = labShell ? new DockedRunViews(labShell, makeView) : null;
    const views: IRunViewHost = docked ?? new SidePanelRunView(app.shell, makeView);

    app.commands.addCommand(COMMANDS.openRun, {
      label: args =>
        typeof args.runId === 'string'
          ? `Orchestrator run ${args.runId}`
          : 'Open an Orchestrator run',
      execute: args =>
        typeof args.runId === 'string' && args.runId ? views.open(args.runId) : undefined
    });

    const sidebar = new OrcSidebar({
      client,
      rendermime,
      openRun,
      onRunChanged: runId => views.watch(runId)
    });
    sidebar.title.icon = orcIcon;
    app.shell.add(sidebar, 'left', { rank: 600 });
    app.commands.addCommand(COMMANDS.showRuns, {
      label: 'Orchestrator Runs',
      caption: 'Show the Orchestrator sidebar: runs and approvals',
      icon: orcIcon,
      execute: () => app.shell.activateById(sidebar.id)
    });
    palette?.addItem({ command: COMMANDS.showRuns, category: 'Orchestrator' });
    mainMenu?.viewMenu.addGroup([{ command: COMMANDS.showRuns }], 1000);
    if (restorer) {
      restorer.add(sidebar, sidebar.id);
      if (docked) {
        docked.restore(restorer, COMMANDS.openRun);
      }
    }
  }
};
