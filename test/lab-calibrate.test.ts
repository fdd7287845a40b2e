// The lab's calibration output is what `npm run sim -- --calibrate FILE` reads: the sim's
// parser accepts it and fits it; the device rates are the reference items' measured rates.
import { describe, expect, it } from 'vitest';
import {
  copySample,
  gemmSample,
  measureCalibration,
  routerSample,
  thisDeviceSimArgs,
  type CalibrationItem,
} from '../src/lab/calibrate.ts';
import { calibrate, parseCalibration } from '../src/sim/calibration.ts';
import { testGpu } from './gpu-fixture.ts';
import { testSeed } from './seed.ts';

const seed = testSeed();

/** The real plan's kinds, with its own sample builders, at toy sizes. */
const TINY: CalibrationItem[] = [
  {
    name: 'grouped GEMM',
    kernel: 'expert-gemm',
    shape: { tokens: 10, hidden: 24, expertHidden: 16, experts: 3, topK: 2 },
    sample: gemmSample('grouped GEMM'),
    reference: 'gemm',
  },
  {
    name: 'router',
    kernel: 'router',
    shape: { tokens: 9, hidden: 24, experts: 6, topK: 2 },
    sample: routerSample,
  },
  {
    name: 'copy',
    kernel: 'copy',
    shape: { mib: 1 / 8 },
    sample: copySample,
    reference: 'copy',
  },
  { name: 'attention', kernel: 'attention', shape: { heads: 2, headDim: 8, lengths: [5, 9] }, sample: () => undefined },
];

describe('lab calibrate', () => {
  it('writes samples the sim parses and fits, with the reference items as device rates', async () => {
    const gpu = await testGpu();
    const c = await measureCalibration(gpu, { seed, runs: 1, plan: TINY });
    const json = JSON.parse(JSON.stringify(c));
    const { device, samples } = parseCalibration(json);
    expect(samples.map((s) => s.kind)).toEqual(['expert-gemm', 'gemm', 'copy']);
    expect(c.notModeled.map((n) => n.kernel)).toEqual(['attention']);
    expect(device.gemmGflops).toBeCloseTo(c.runs[0].gflops!, 9);
    expect(device.copyGBps).toBeCloseTo(c.runs[2].gbps!, 9);
    expect(samples[2]).toMatchObject({ bytes: 128 * 1024 });
    for (const r of c.runs) expect(r.checkOk, r.check).toBe(true);
    const fit = calibrate(samples, device);
    expect(fit.rows).toHaveLength(3);
    for (const row of fit.rows) expect(row.ratio).toBeGreaterThan(0);
    // The copy sample is the copy rate's own measurement: the model reproduces it exactly.
    expect(fit.rows[2].ratio).toBeCloseTo(1, 6);
    expect(thisDeviceSimArgs(c.device)).toMatch(
      /^--profile this-device --this-device-gflops [\d.e+-]+ --this-device-copy-gbps [\d.e+-]+$/,
    );
  });
});
