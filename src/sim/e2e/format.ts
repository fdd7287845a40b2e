// Terminal report of an end-to-end result: provenance first, the per-band table with the
// chosen deployment of each strategy, the frontiers' extent, and the validation rows beside
// the published values. Every number is modeled and says so.

import { formatTable, type Cell } from '../../report/table.ts';
import { inBand } from './pareto.ts';
import {
  clientsExpr,
  publishedSettingDifferences,
  reportedTpsPerUser,
  type E2eBand,
  type E2ePoint,
  type E2eResult,
  type ValidationRow,
} from './scenario.ts';

const f1 = (x: number) => x.toFixed(1);
const f0 = (x: number) => x.toFixed(0);

/** A deployment in one line: context units, generation EP/batch/MTP/EPLB. */
export function describeDeployment(p: E2ePoint): string {
  const c = p.config;
  const ctx = c.strategy === 'dep' ? `${c.ctxUnits}×DEP${c.groupSize}` : `${c.ctxUnits}×DWDP${c.groupSize}`;
  const g = c.gen;
  return `ctx ${ctx} | gen EP${g.ep} batch ${g.batch} MTP${g.mtp}${g.eplb ? ' EPLB' : ''}`;
}

function bandCells(b: E2eBand, s: 'dep' | 'dwdp'): Cell[] {
  const p = b[s];
  if (!p) return ['–', '–', '–', '–', 'no point in band'];
  return [f1(p.tpsPerUser), f0(p.tpsPerGpu), `${p.ctxGpus}+${p.genGpus}`, f0(p.ttftMedianMs), describeDeployment(p)];
}

export function formatValidation(rows: readonly ValidationRow[]): string {
  const num = (x: number) => (Math.abs(x) >= 100 ? f0(x) : x.toFixed(3));
  return formatTable(
    ['quantity', 'setting (TPS/user)', 'published', 'modeled', 'error', 'kind', 'source'],
    rows.map((r) => [
      r.quantity,
      `${r.setting.replace(/^.*TPS\/user /, '') || r.setting}${r.experiment === null ? '' : ` (model at ${r.experiment})`}`,
      num(r.published),
      r.modeled === null ? '–' : num(r.modeled),
      r.error === null ? '–' : `${(r.error * 100).toFixed(0)}%`,
      r.kind,
      r.source,
    ]),
    { rightAlign: [false, false, true, true, true, false, false] },
  );
}

export function formatE2e(res: E2eResult, validation: readonly ValidationRow[]): string {
  const out: string[] = [];
  out.push(`MODELED, not measured — ${res.provenance}`);
  out.push(`scenario ${res.scenario}${res.description ? `: ${res.description}` : ''}`);
  const p = res.params;
  out.push(
    `ISL ${p.isl} (uniform in [${p.inputRatio}·ISL, ISL]), OSL ${p.osl}; context ≤ ${p.ctxMaxBatch} requests and ${p.ctxMaxTokens} tokens ` +
      `per GPU and step; DWDP contention fix ${p.contentionFix ? 'on' : 'off'}; ≤ ${p.maxGpus} GPUs; ${res.pointsSearched} deployments searched`,
  );
  const ctx = (s: 'dep' | 'dwdp') => res.context[s].stepMs.map((x, i) => `${i + 1}: ${f0(x)}`).join(', ');
  out.push(
    `context step per GPU by requests per step, ms — DEP${p.groupSize}: ${ctx('dep')}; DWDP${p.groupSize}: ${ctx('dwdp')}`,
  );
  out.push(
    `KV transfer per request: ${(res.kvTransfer.bytesPerRequest / 1e6).toFixed(0)} MB ` +
      `(${f0(res.kvTransfer.bytesPerToken)} B/token), ${res.kvTransfer.ms.toFixed(2)} ms over ${res.kvTransfer.link}`,
  );
  out.push('');
  out.push('best output TPS/GPU (over context + generation GPUs) per TPS/user band:');
  const head = [
    'band',
    'DEP TPS/user',
    'TPS/GPU',
    'GPUs ctx+gen',
    'TTFT ms',
    'DEP deployment',
    'DWDP TPS/user',
    'TPS/GPU',
    'GPUs',
    'TTFT ms',
    'DWDP deployment',
    'DWDP/DEP',
  ];
  const rows = res.bands.map((b): Cell[] => [
    `${b.tpsPerUser[0]}–${b.tpsPerUser[1]}`,
    ...bandCells(b, 'dep'),
    ...bandCells(b, 'dwdp'),
    b.speedupTpsPerGpu === null ? '–' : b.speedupTpsPerGpu.toFixed(3),
  ]);
  out.push(formatTable(head, rows, { rightAlign: head.map((h) => !h.includes('deployment')) }));
  out.push(
    `TTFT: median of a simulated benchmark run of the deployment (C clients, C = ${clientsExpr(res.params)}, sending ` +
      `C × max(1, ⌊${res.params.ttftRequests} / C⌋) requests, closed loop, all C at once, ` +
      'round-robin context workers, first burst included): context wait + prefill + KV transfer',
  );
  out.push(
    res.params.tpsPerUserMetric === 'benchmark'
      ? "TPS/user (the bands' axis): the benchmark's, output tokens ÷ a request's end-to-end latency (TTFT included), " +
          'at the fluid operating point (X·OSL / C); the decode rate alone is higher'
      : "TPS/user (the bands' axis): the decode rate alone (accepted tokens ÷ decode step; TTFT left out)",
  );
  out.push('');
  for (const s of ['dep', 'dwdp'] as const) {
    const fr = res.frontier[s];
    if (fr.length === 0) {
      out.push(`${s.toUpperCase()} frontier: empty (no configuration fits)`);
      continue;
    }
    out.push(
      `${s.toUpperCase()} frontier: ${fr.length} points, TPS/user ${f1(fr[0].tpsPerUser)}–${f1(fr[fr.length - 1].tpsPerUser)}, ` +
        `TPS/GPU ${f0(fr[fr.length - 1].tpsPerGpu)}–${f0(fr[0].tpsPerGpu)}`,
    );
  }
  if (res.reproduction.length > 0) {
    out.push('');
    out.push(
      `TensorRT-LLM's reproduction deployments (examples/dwdp/dwdp_reproduce.yaml), modeled; the band is the experiment's name, not a measurement; ` +
        `TPS/user: ${
          res.params.tpsPerUserMetric === 'benchmark'
            ? "the benchmark's (OSL ÷ end-to-end latency, mean over the simulated run)"
            : 'the decode rate'
        }:`,
    );
    const rh = [
      'experiment',
      'named band',
      'ctx+gen GPUs',
      'gen',
      'TPS/user',
      'in band',
      'decode tok/s',
      'TPS/GPU',
      'TTFT ms',
      'gen occupancy',
      'bound by',
    ];
    const rr = res.reproduction.map((r): Cell[] => {
      const m = r.modeled;
      const gen = `EP${r.genEp} b${r.batch} MTP${r.mtp}${r.eplb ? ' EPLB' : ''}`;
      if (!m)
        return [
          r.experiment,
          `${r.band[0]}–${r.band[1]}`,
          `${r.ctxGpus}+${r.genEp}`,
          gen,
          '–',
          '–',
          '–',
          '–',
          '–',
          '–',
          'does not fit',
        ];
      const user = reportedTpsPerUser(m, res.params.tpsPerUserMetric);
      return [
        r.experiment,
        `${r.band[0]}–${r.band[1]}`,
        `${r.ctxGpus}+${r.genEp}`,
        gen,
        f1(user),
        inBand(user, r.band) ? 'yes' : 'NO',
        f1(m.decodeTpsPerUser),
        f0(m.tpsPerGpu),
        f0(m.ttftMedianMs),
        f1(m.genBatch),
        m.bottleneck,
      ];
    });
    out.push(
      formatTable(rh, rr, { rightAlign: rh.map((h) => !['experiment', 'gen', 'in band', 'bound by'].includes(h)) }),
    );
  }
  if (validation.length > 0) {
    out.push('');
    out.push('against the published end-to-end results (validation only: nothing was fitted to them):');
    out.push(formatValidation(validation));
  }
  const differs = publishedSettingDifferences(res);
  if (differs.length > 0) {
    out.push('');
    out.push(
      `not compared with the published end-to-end results: this run is not at their setting (${differs.join(', ')})`,
    );
  }
  return out.join('\n');
}
