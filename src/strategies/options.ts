// A group run's defaults and option check live with the option table (src/options/group.ts),
// which the CLI and the page derive from; re-exported here for the strategies' callers.
export { DEFAULT_GROUP_OPTIONS, checkGroupOptions, groupOptionErrors } from '../options/group.ts';
