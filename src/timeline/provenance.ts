// Where a timeline's durations come from, as data: measured here (on which adapter, read by
// which timer, under which clock) or modeled (on which hardware profile, calibrated how).
// Badges, provenance lines and exports are derived from it; nothing recovers it from words.

/** How kernel times were read: GPU timestamp queries, or the host clock around submissions. */
export type TimerKind = 'timestamp-query' | 'host';
/** virtual: measured durations scheduled in virtual time; wall: ranks really concurrent, host clock. */
export type ClockKind = 'virtual' | 'wall';

export type Provenance =
  | { kind: 'measured'; adapter: string; timer: TimerKind; clock: ClockKind }
  | {
      kind: 'modeled';
      /** Hardware profile id (src/hardware/profiles.ts) and its display name. */
      profile: string;
      profileName: string;
      /** How the model's rates were set, in words (efficiency defaults, or a fit to measurements). */
      calibration: string;
    };

/** 'measured here' | 'modeled': the badge every number carries. */
export function provenanceBadge(p: Provenance): 'measured here' | 'modeled' {
  return p.kind === 'measured' ? 'measured here' : 'modeled';
}

/** How the times were taken, in words (without the adapter). */
export function timeSourceText(p: Provenance): string {
  if (p.kind === 'modeled')
    return `modeled: roofline cost model on ${p.profileName} (${p.calibration}), scheduled in virtual time`;
  if (p.clock === 'wall') return 'measured here (host wall clock, ranks running concurrently)';
  return p.timer === 'timestamp-query'
    ? 'measured here (GPU timestamps of every step, scheduled in virtual time)'
    : 'measured here (host time of every step (no timestamp-query), scheduled in virtual time)';
}

/** The adapter the times were taken on, or what stands in for it. */
export function adapterText(p: Provenance): string {
  return p.kind === 'measured' ? p.adapter : `none (modeled ${p.profile})`;
}

/** One line: 'measured here (…), on <adapter>' or 'modeled: … on <profile> (…)…'. */
export function describeProvenance(p: Provenance): string {
  return p.kind === 'measured' ? `${timeSourceText(p)}, on ${p.adapter}` : timeSourceText(p);
}
