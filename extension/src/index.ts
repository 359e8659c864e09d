/**
 * orchestrator-nb in JupyterLab: the "Orchestrator" sidebar (runs and approvals), run views in
 * the main area, and YAML highlighting for `%%orc` cells.
 */
import {
  ILabShell,
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette, MainAreaWidget, WidgetTracker } from '@jupyterlab/apputils';
import { EditorExtensionRegistry, IEditorExtensionRegistry } from '@jupyterlab/codemirror';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';

import { orcIcon } from './icon';
import { orcCells } from './orcyaml';
import { RunView } from './runview';
import { OrcSidebar } from './sidebar';

const COMMANDS = {
  openRun: 'orchestrator-nb:open-run',
  showRuns: 'orchestrator-nb:show-runs'
};

const sidebarPlugin: JupyterFrontEndPlugin<void> = {
  id: 'orchestrator-nb:sidebar',
  description: 'The Orchestrator sidebar: runs, run views and approvals.',
  autoStart: true,
  requires: [ILabShell],
  optional: [IRenderMimeRegistry, ILayoutRestorer, ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    shell: ILabShell,
    rendermime: IRenderMimeRegistry | null,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null
  ) => {
    const tracker = new WidgetTracker<MainAreaWidget<RunView>>({
      namespace: 'orchestrator-nb-run'
    });
    const openRun = (runId: string) => app.commands.execute(COMMANDS.openRun, { runId });
    const openFile = (path: string) => app.commands.execute('docmanager:open', { path });

    app.commands.addCommand(COMMANDS.openRun, {
      label: args => (args.runId ? `Orchestrator run ${args.runId}` : 'Open an Orchestrator run'),
      execute: args => {
        const runId = String(args.runId || '');
        if (!runId) {
          return;
        }
        const existing = tracker.find(w => w.content.runId === runId);
        if (existing) {
          shell.activateById(existing.id);
          return existing;
        }
        const content = new RunView({ runId, rendermime, openRun, openFile });
        const widget = new MainAreaWidget({ content });
        widget.id = `jp-orc-run-panel-${runId}`;
        widget.title.icon = orcIcon;
        widget.title.label = content.title.label;
        content.title.changed.connect(() => (widget.title.label = content.title.label));
        widget.title.closable = true;
        void tracker.add(widget);
        shell.add(widget, 'main');
        shell.activateById(widget.id);
        return widget;
      }
    });

    const sidebar = new OrcSidebar({ rendermime, openRun });
    sidebar.title.icon = orcIcon;
    shell.add(sidebar, 'left', { rank: 600 });
    app.commands.addCommand(COMMANDS.showRuns, {
      label: 'Show Orchestrator runs',
      execute: () => shell.activateById(sidebar.id)
    });
    palette?.addItem({ command: COMMANDS.showRuns, category: 'Orchestrator' });
    if (restorer) {
      restorer.add(sidebar, sidebar.id);
      void restorer.restore(tracker, {
        command: COMMANDS.openRun,
        args: w => ({ runId: w.content.runId }),
        name: w => w.content.runId
      });
    }
  }
};

const orcCellsPlugin: JupyterFrontEndPlugin<void> = {
  id: 'orchestrator-nb:jp-orc-cells',
  description: 'YAML highlighting for %%orc cells.',
  autoStart: true,
  requires: [IEditorExtensionRegistry],
  activate: (app: JupyterFrontEnd, extensions: IEditorExtensionRegistry) => {
    extensions.addExtension({
      name: 'orchestrator-nb:jp-orc-cells',
      // cells of notebooks and consoles ("inline" editors); files keep their own language
      factory: options =>
        options.inline
          ? EditorExtensionRegistry.createImmutableExtension(
              orcCells(options.model.sharedModel.getSource())
            )
          : null
    });
  }
};

export default [sidebarPlugin, orcCellsPlugin];
