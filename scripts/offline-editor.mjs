// How an editor started from this clone stays offline and quiet: `npm start` (scripts/start.mjs) and the e2e
// harness (test/e2e/harness.ts) start code-server with these, so neither makes a lookup that fails offline
// (ENOTFOUND open-vsx.org) nor checks for updates, recommendations or experiments.

/** The environment code-server starts with: an empty extension gallery. */
export const OFFLINE_ENV = { EXTENSIONS_GALLERY: '{}' };

/** User settings that keep the editor from reaching the network on its own. */
export const OFFLINE_SETTINGS = {
  'security.workspace.trust.enabled': false,
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'update.mode': 'none',
  'workbench.enableExperiments': false,
  'npm.fetchOnlinePackageInfo': false,
  'typescript.disableAutomaticTypeAcquisition': true,
};
