/**
 * mlops-nb's JupyterLab extension: the "MLOps" side panel, its commands
 * and its settings.
 */
import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, ToolbarButton } from '@jupyterlab/apputils';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import type { Toolbar } from '@jupyterlab/ui-components';

import { MlopsClient } from './api';
import { FALLBACK_RANK, fallbackFactory } from './fallback';
import { mlopsIcon } from './icon';
import { MlopsPanel, TABS, type TabName } from './panel';

export { ApiError, MlopsClient } from './api';
export { MlopsPanel } from './panel';

const PLUGIN_ID = 'mlops-nb:plugin';

/** Command ids. */
export namespace CommandIDs {
  export const open = 'mlops-nb:open';
  export const refresh = 'mlops-nb:refresh';
  export const openNotebook = 'mlops-nb:open-notebook';
  export const newSchedule = 'mlops-nb:new-schedule';
}

const CATEGORY = 'MLOps';

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description:
    'An MLOps side panel: model versions and aliases, runs with provenance, drift and schedules.',
  autoStart: true,
  // No ILayoutRestorer: the panel keeps its own state in the browser's local
  // storage (panel.ts), so a page reload brings back what this browser had
  // open, and a fresh browser (each browser test) starts from the defaults.
  optional: [ICommandPalette, ISettingRegistry, IRenderMimeRegistry, IDefaultFileBrowser],
  activate: (
    app: JupyterFrontEnd,
    palette: ICommandPalette | null,
    settingRegistry: ISettingRegistry | null,
    rendermime: IRenderMimeRegistry | null,
    fileBrowser: IDefaultFileBrowser | null
  ) => {
    // mlops-nb's notebook widgets: their stored HTML when the widget model is gone.
    rendermime?.addFactory(fallbackFactory, FALLBACK_RANK);
    const client = new MlopsClient(app.serviceManager.serverSettings);
    const panel = new MlopsPanel({
      client,
      showInMain: widget => {
        if (!widget.isAttached) {
          app.shell.add(widget, 'main', { mode: 'tab-after' });
        }
        app.shell.activateById(widget.id);
      }
    });
    app.shell.add(panel, 'left', { rank: 650 });
    panel.setRefreshInterval(15);
    if (panel.wasOpen) {
      void app.restored.then(() => app.shell.activateById(panel.id));
    }

    app.commands.addCommand(CommandIDs.open, {
      label: args => (args.tab ? `Open MLOps Panel: ${String(args.tab)}` : 'Open MLOps Panel'),
      caption: 'Show the MLOps side panel (models, runs, drift, alerts, promotion requests, schedules, serving)',
      icon: args => (args.isPalette ? undefined : panel.title.icon),
      execute: args => {
        const tab = args.tab as TabName | undefined;
        if (tab && (TABS as readonly string[]).includes(tab)) {
          panel.selectTab(tab);
        }
        app.shell.activateById(panel.id);
      }
    });
    app.commands.addCommand(CommandIDs.refresh, {
      label: 'Refresh MLOps Panel',
      caption: 'Reload what the MLOps panel shows from the server',
      execute: () => panel.refresh()
    });
    app.commands.addCommand(CommandIDs.openNotebook, {
      label: args => `Open Executed Notebook of Run ${String(args.runId ?? '').slice(0, 8)}`,
      caption: 'Open the executed notebook of a run, read-only',
      execute: args => {
        const runId = String(args.runId ?? '');
        if (/^[0-9a-fA-F]+$/.test(runId)) {
          void panel.openNotebook(runId, String(args.name ?? 'notebook'));
        }
      }
    });
    app.commands.addCommand(CommandIDs.newSchedule, {
      label: 'New Schedule…',
      caption: 'Run this notebook or pipeline file on a schedule (cron, time zone, parameters, retries, timeout, alerts)',
      icon: args => (args.isPalette ? undefined : panel.title.icon),
      execute: args => {
        // From the toolbar: the notebook's own path; from the file browser's
        // context menu: the notebook or pipeline file selected there.
        let path = typeof args.path === 'string' ? args.path : '';
        if (!path && fileBrowser) {
          const chosen = [...fileBrowser.selectedItems()].find(item => /\.(ipynb|ya?ml)$/i.test(item.path));
          path = chosen?.path ?? '';
        }
        app.shell.activateById(panel.id);
        return panel.defineSchedule(path);
      }
    });
    // A clock button on every notebook's toolbar.
    app.docRegistry.addWidgetExtension('Notebook', {
      createNew: (widget, context) => {
        const button = new ToolbarButton({
          icon: mlopsIcon,
          label: 'Schedule',
          tooltip: 'Run this notebook on a schedule (MLOps)',
          onClick: () => void app.commands.execute(CommandIDs.newSchedule, { path: context.path })
        });
        button.node.setAttribute('data-testid', 'mlops-schedule-notebook');
        // A notebook panel is a DocumentWidget: it has a toolbar.
        (widget as unknown as { toolbar: Toolbar }).toolbar.insertItem(10, 'mlops-schedule', button);
        return button;
      }
    });
    if (palette) {
      palette.addItem({ command: CommandIDs.open, category: CATEGORY });
      palette.addItem({ command: CommandIDs.refresh, category: CATEGORY });
    }

    if (settingRegistry) {
      let first = true;
      settingRegistry
        .load(PLUGIN_ID)
        .then(settings => {
          const apply = () => {
            const seconds = Number(settings.get('refreshInterval').composite ?? 15);
            panel.setRefreshInterval(Number.isFinite(seconds) ? seconds : 15);
            // The default tab is where the panel opens the first time; after
            // that the tab the user left it on, and later changes of the
            // setting do not yank the user away from the tab they chose.
            if (first && !panel.hasSavedState) {
              const tab = settings.get('defaultTab').composite as TabName;
              if ((TABS as readonly string[]).includes(tab)) {
                panel.selectTab(tab);
              }
              first = false;
            }
          };
          apply();
          settings.changed.connect(apply);
        })
        .catch(reason => {
          console.warn('mlops-nb: could not load the settings; using the defaults', reason);
        });
    }
  }
};

export default plugin;
