// The layering of src/, enforced on every `npm test` (npm run lint:deps, tools/lint-deps.ts).
//
//   ui, cli, bench                       shells over the library
//   lab   report                         the shader lab; tables, traces, dumps
//   strategies   sim                     the emulation's rank loops | the rack model (never each other)
//   dwdp   layer   workload              transport, wall link, weight store, placement | the MoE layer | requests
//   kernels   tuning                     WGSL kernels and their tuning cache
//   gpu                                  devices, buffers, timers
//   timeline   hardware   model   util   the shared core: ops, scheduler, link | profiles, efficiencies,
//                                        precisions | MoE configs, weight formats | numerics
//
// Every rule is a "never reaches" rule: it follows imports transitively (type-only imports
// included), so an indirect path through another folder is caught too, and the message names
// the whole chain, starting with the offending import. The rack model may use the DWDP
// placement (pure arithmetic shared with the emulation) and nothing else of src/dwdp.
// Node ≥ 22 can also run `npx depcruise src` on this file directly.

/* global module */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'gpu-is-the-base',
      comment: 'src/gpu stands on nothing else in src/',
      severity: 'error',
      from: { path: '^src/gpu/' },
      to: { path: '^src/', pathNot: '^src/gpu/', reachable: true },
    },
    {
      name: 'kernels-know-no-ranks',
      comment: 'kernels never reach dwdp, strategies, sim, ui or lab',
      severity: 'error',
      from: { path: '^src/kernels/' },
      to: { path: '^src/(dwdp|strategies|sim|ui|lab)/', reachable: true },
    },
    {
      name: 'dwdp-below-strategies',
      comment: 'dwdp never reaches strategies, sim or ui',
      severity: 'error',
      from: { path: '^src/dwdp/' },
      to: { path: '^src/(strategies|sim|ui)/', reachable: true },
    },
    {
      name: 'emulation-not-model',
      comment: 'strategies never reach sim or ui: both stand on src/timeline and src/hardware',
      severity: 'error',
      from: { path: '^src/strategies/' },
      to: { path: '^src/(sim|ui)/', reachable: true },
    },
    {
      name: 'model-not-emulation',
      comment: 'sim never reaches strategies or ui: both stand on src/timeline and src/hardware',
      severity: 'error',
      from: { path: '^src/sim/' },
      to: { path: '^src/(strategies|ui)/', reachable: true },
    },
    {
      name: 'model-uses-only-placement-of-dwdp',
      comment: 'sim may use the DWDP placement (pure arithmetic), not the transport, wall link or weight store',
      severity: 'error',
      from: { path: '^src/sim/' },
      to: { path: '^src/dwdp/', pathNot: '^src/dwdp/placement[.]ts$', reachable: true },
    },
    {
      name: 'core-stands-on-nothing',
      comment:
        'timeline and hardware reach nothing above them (no gpu, kernels, dwdp, strategies, sim, ui, lab, cli): ' +
        'only each other, model configs and util',
      severity: 'error',
      from: { path: '^src/(timeline|hardware)/' },
      to: { path: '^src/', pathNot: '^src/(timeline|hardware|model|util)/', reachable: true },
    },
  ],
  options: {
    // Type-only imports are dependencies too (`import type` is erased by the compiler).
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^src/model/hf/' },
  },
};
