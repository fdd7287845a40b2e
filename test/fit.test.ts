// The rack model's calibration: the stored fit (src/hardware/gb200-nvl72-fit.json, the gb200-nvl72
// profile's default efficiencies) reproduces the calibration set — the paper's Table 3, both
// columns — within the tolerances, every row, and rerunning the fit procedure gives the stored
// parameters. The model is deterministic: these are exact checks, no seed involved.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import FIT from '../src/hardware/gb200-nvl72-fit.json';
import { DEFAULT_EFFICIENCY } from '../src/hardware/efficiency.ts';
import { GB200_NVL72 } from '../src/hardware/profiles.ts';
import { FITTED_KEYS, fitCalibration, fitDescription, fitFile } from '../src/sim/fit.ts';
import { TABLE3, TOLERANCE, runValidation } from '../src/sim/validate.ts';

describe('calibration on the paper’s Table 3', () => {
  it('the gb200-nvl72 profile runs the stored fit, and says so', () => {
    expect(GB200_NVL72.calibration!.efficiency).toEqual(FIT.parameters);
    expect(GB200_NVL72.calibration!.describe).toBe(fitDescription(FIT.parameters));
    expect(FIT.describe).toMatch(/^calibrated on the paper's Table 3 \(fit: attention [\d.]+, gemm/);
    expect(Object.keys(FIT.parameters).sort()).toEqual(Object.keys(DEFAULT_EFFICIENCY).sort());
    const rep = runValidation({ roles: ['calibration'] });
    expect(rep.provenance).toContain(`modeled on gb200-nvl72, ${FIT.describe}`);
  });

  it('the stored fit reproduces every calibration row within tolerance', () => {
    const rep = runValidation({ roles: ['calibration'] });
    expect(rep.rows.map((r) => r.id)).toEqual(FIT.residuals.map((r) => r.id));
    for (const r of rep.rows) {
      const stored = FIT.residuals.find((x) => x.id === r.id)!;
      // The stored residuals are the model's (6 significant digits).
      expect(Math.abs(r.modeled! - stored.modeled!), r.id).toBeLessThanOrEqual(
        1e-5 * Math.max(1, Math.abs(r.modeled!)),
      );
      const [, side, cat] = r.id.split('.') as [string, 'dep' | 'dwdp', string];
      const iteration = TABLE3[side].iteration!;
      // Tolerances read independently of validate.ts's rule.
      const within =
        r.published === 0
          ? Math.abs(r.modeled!) <= 0.01 * iteration
          : Math.abs(r.modeled! / r.published - 1) <= (cat === 'iteration' ? 0.05 : 0.1);
      expect(r.withinTolerance, r.id).toBe(within);
      expect(within, `${r.id}: ${r.modeled} vs ${r.published}`).toBe(true);
    }
    expect(rep.summary.calibration.of).toBe(rep.rows.length);
    expect(rep.summary.calibration.within).toBe(rep.rows.length);
    expect(TOLERANCE).toEqual({ category: 0.1, iteration: 0.05, zeroShareOfIteration: 0.01 });
  });

  it('rerunning the fit procedure gives the stored parameters and file', { timeout: 300_000 }, () => {
    const fit = fitCalibration();
    expect(fit.converged).toBe(true);
    expect(fit.parameters, 'the stored fit is stale: rerun npm run sim -- --fit-calibration').toEqual(FIT.parameters);
    // Only the fitted keys move; the fixed ones stay at their sourced defaults.
    for (const k of Object.keys(DEFAULT_EFFICIENCY) as (keyof typeof DEFAULT_EFFICIENCY)[])
      if (!(FITTED_KEYS as readonly string[]).includes(k)) expect(fit.parameters[k]).toBe(DEFAULT_EFFICIENCY[k]);
    // DEP's communication is fitted through the all-to-all's bandwidth; its fixed cost per phase stays sourced.
    expect(FITTED_KEYS).toContain('allToAll');
    expect(FITTED_KEYS).not.toContain('collectiveUs');
    expect(FIT.fixed.collectiveUs).toBe(DEFAULT_EFFICIENCY.collectiveUs);
    // DEP's synchronization is fitted through the stragglers' scale, nothing else.
    expect(FIT.targets.straggle).toBe('DEP synchronization');
    expect(JSON.parse(JSON.stringify(fitFile(fit))), 'rerun npm run sim -- --fit-calibration').toEqual(FIT);
  });
});

describe('the --fit-calibration command', () => {
  it('refuses the options it does not read, naming them, before fitting or writing anything', () => {
    for (const extra of [['--scenario', 'r1-isl-sweep'], ['--validate'], ['--profile', 'h200-hgx']]) {
      const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/sim.ts', '--fit-calibration', ...extra], {
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr.split('\n')[0]).toContain('--fit-calibration');
      expect(r.stderr.split('\n')[0]).toContain(extra[0]);
    }
  });
});
