// The paper's breakdown columns by compute category, written out by hand: the independent
// reference the tests hold src/timeline/categories.ts's table to (shared by the unit and the
// browser tests of the baseline comparison).
export const PAPER_COLUMN_OF: Readonly<Record<string, string>> = {
  attention: 'attention',
  gemm: 'groupedGemm',
  dense: 'denseGemm',
  router: 'others',
  combine: 'others',
  merge: 'others',
  other: 'others',
  collective: 'communication',
};

/** The breakdown's keys as the README's sim --json format names them (exact): the seven that add up to the step, then p2pBusy. */
export const PAPER_COLUMNS: readonly string[] = [
  'attention',
  'groupedGemm',
  'denseGemm',
  'others',
  'communication',
  'synchronization',
  'p2pExposed',
  'p2pBusy',
];
