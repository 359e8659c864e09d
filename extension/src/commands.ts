/** The ids of the commands this extension adds (the browser tests call them too). */
export const COMMANDS = {
  openRun: 'orchestrator-nb:open-run',
  showRuns: 'orchestrator-nb:show-runs'
};
