/**
 * orchestrator-nb in JupyterLab and Jupyter Notebook 7: the "Orchestrator" sidebar (runs and
 * approvals) with its run views, and YAML highlighting for `%%orc` cells.
 */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { EditorExtensionRegistry, IEditorExtensionRegistry } from '@jupyterlab/codemirror';

import { orcCells } from './orcyaml';
import { sidebarPlugin } from './sidebarplugin';

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
