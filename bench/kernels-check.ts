// bench:kernels --check: the run's RATIOS against bench/kernels-baseline.json (never absolute
// times: this machine's load moves those 2×). A ratio fails when it falls below
// baseline × floor; the peer targets must hold too. Rises are reported, not failed.

export interface RatioRow {
  shape: string;
  format: string;
  variant: string;
  vsNaive?: number;
  vsPeerLoop?: number;
  vsPeerDense?: number;
  fractionOfCeiling: number;
}

export interface KernelsBaseline {
  adapter: string;
  date: string;
  note: string;
  rows: RatioRow[];
}

export type RatioName = 'vsNaive' | 'vsPeerLoop' | 'vsPeerDense' | 'fractionOfCeiling';

/**
 * Lowest accepted value as a fraction of the baseline. Generous on purpose: two runs ten
 * minutes apart on this 2-core machine moved vs-naive 9.2× → 3.4× and the fraction of the
 * ceiling 34% → 21% (docs/expert-gemm.md); a real regression (a slower kernel, a lost
 * optimization) moves them further and stays there on a rerun.
 */
export const FLOORS: Record<RatioName, number> = {
  vsNaive: 1 / 3,
  vsPeerLoop: 1 / 3,
  vsPeerDense: 1 / 3,
  fractionOfCeiling: 1 / 2,
};

/** The targets for the grouped GEMM against the peer (absolute ratios). */
export const TARGETS: Partial<Record<RatioName, number>> = { vsPeerLoop: 2, vsPeerDense: 1.5 };

/** Above baseline × this, a ratio is reported as improved (rebaseline with --write-baseline). */
const RISE = 1.5;

export interface CheckOutcome {
  failures: string[];
  notes: string[];
  /** [shape, format, ratio, baseline, now, floor, verdict] */
  rows: string[][];
}

export function checkAgainstBaseline(rows: RatioRow[], baseline: KernelsBaseline, adapter: string): CheckOutcome {
  const out: CheckOutcome = { failures: [], notes: [], rows: [] };
  if (baseline.adapter !== adapter) {
    out.failures.push(
      `baseline was measured on '${baseline.adapter}', this run on '${adapter}': ratios are not comparable (rebaseline with --write-baseline on this adapter)`,
    );
    return out;
  }
  const fmt = (x: number, r: RatioName) =>
    r === 'fractionOfCeiling' ? `${(100 * x).toFixed(1)}%` : `${x.toFixed(2)}×`;
  for (const base of baseline.rows) {
    const now = rows.find((r) => r.shape === base.shape && r.format === base.format);
    if (!now) {
      out.notes.push(`${base.shape} ${base.format}: not measured in this run`);
      continue;
    }
    if (now.variant !== base.variant)
      out.notes.push(`${base.shape} ${base.format}: variant ${now.variant}, baseline ran ${base.variant}`);
    for (const name of Object.keys(FLOORS) as RatioName[]) {
      const b = base[name];
      const v = now[name];
      if (b === undefined) continue;
      const where = `${base.shape} ${base.format} ${name}`;
      if (v === undefined) {
        out.notes.push(`${where}: not measured in this run (peer skipped?)`);
        continue;
      }
      const floor = Math.max(b * FLOORS[name], TARGETS[name] ?? 0);
      let verdict = 'ok';
      if (!(v >= floor)) {
        verdict = 'FAIL';
        const why =
          TARGETS[name] !== undefined && floor === TARGETS[name]
            ? `peer target ${fmt(floor, name)}`
            : `${fmt(FLOORS[name], 'fractionOfCeiling')} of the baseline`;
        out.failures.push(
          `${where} fell to ${fmt(v, name)} (baseline ${fmt(b, name)}; floor ${fmt(floor, name)} = ${why})`,
        );
      } else if (v > b * RISE) {
        verdict = 'improved';
        out.notes.push(`${where} rose to ${fmt(v, name)} from ${fmt(b, name)}: consider --write-baseline`);
      }
      out.rows.push([base.shape, base.format, name, fmt(b, name), fmt(v, name), fmt(floor, name), verdict]);
    }
  }
  return out;
}

export function baselineFrom(rows: RatioRow[], adapter: string): KernelsBaseline {
  return {
    adapter,
    date: new Date().toISOString(),
    note:
      'bench:kernels ratios (grouped GEMM vs naive, vs tfjs peer, fraction of the FMA ceiling), measured here; ' +
      'npm run bench:kernels -- --check compares against them',
    rows: rows.map(({ shape, format, variant, vsNaive, vsPeerLoop, vsPeerDense, fractionOfCeiling }) => ({
      shape,
      format,
      variant,
      vsNaive,
      vsPeerLoop,
      vsPeerDense,
      fractionOfCeiling,
    })),
  };
}
