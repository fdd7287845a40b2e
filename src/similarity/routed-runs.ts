// One routing for every strategy of a comparison point. Under a scale model each run's grouped
// GEMM is dilated to the target's padded-tile GEMM under the routing the run had (target.ts
// withRoutedTarget), and the counterpart is modeled with the same loads (counterpart.ts
// withRoutedLoads). Every strategy of one seed routes the same tokens alike, but only one of them
// records the router's counts: DEP, whose ranks read them back and exchange them before the
// dispatch. So the recorder runs first (or beside the others), and its counts are handed to the
// others before they dilate:
//
//   in turn        the recorder runs to the end, then the others in their given order, each
//                  handed the recorder's result's routedSlots (the page: one run at a time, in a
//                  worker, so the counts travel as data);
//   side by side   all start at once; the recorder hands its counts out as soon as its steps are
//                  done (RunHooks.onRouted), and the others await them before they dilate (the
//                  similarity bench: the virtual clock interleaves their timed steps).
//
// Either way the results come back in the strategies' given order (what a reader sees), and a
// point without the recorder hands nothing on (uniform or skewed target, as before).
import type { RunHooks } from '../strategies/run.ts';
import type { GroupRunResult, StrategyName } from '../strategies/types.ts';
import { withRoutedTarget } from './target.ts';

/** Per measured layer, per emulated expert, the group's routed slots (GroupRunResult.routedSlots). */
export type RoutedSlots = readonly (readonly number[])[];

/** The strategy whose run records its router's counts. */
export const ROUTING_RECORDER: StrategyName = 'dep';

/** What one run is handed: the recorder gets `onRouted`, every other run the recorder's counts. */
export interface RoutingHand {
  /** This run is the recorder: call with its counts as soon as they are known. */
  onRouted?: (slots: number[][]) => void;
  /** The recorder's counts (undefined when it recorded none); absent for the recorder and without one. */
  slots?: Promise<RoutedSlots | undefined>;
}

/**
 * The order the runs of `strategies` start in: the recorder first, then the others in their
 * given order (indices into `strategies`). Without the recorder, the given order.
 */
export function routedOrder(strategies: readonly StrategyName[]): number[] {
  const idx = strategies.map((_, i) => i);
  const rec = strategies.indexOf(ROUTING_RECORDER);
  return rec < 0 ? idx : [rec, ...idx.filter((i) => i !== rec)];
}

/**
 * Run every strategy of one point so that all dilate under one routing (see the header), the
 * results in `strategies`' order. `run(strategy, index, hand)` runs one: pass `hand` to runGroup
 * through routingHooks (or carry `await hand.slots` to where runGroup runs).
 */
export async function runUnderOneRouting<T extends Pick<GroupRunResult, 'routedSlots'>>(
  strategies: readonly StrategyName[],
  run: (strategy: StrategyName, index: number, hand: RoutingHand) => Promise<T>,
  mode: 'in-turn' | 'side-by-side',
): Promise<T[]> {
  if (new Set(strategies).size !== strategies.length)
    throw new Error(`routed runs: strategies repeat (${strategies.join(', ')}): give each strategy once`);
  const order = routedOrder(strategies);
  const rec = strategies.indexOf(ROUTING_RECORDER);
  const out: T[] = new Array<T>(strategies.length);
  if (mode === 'in-turn') {
    let slots: Promise<RoutedSlots | undefined> | undefined;
    for (const i of order) {
      out[i] = await run(strategies[i], i, i === rec ? {} : slots ? { slots } : {});
      if (i === rec) slots = Promise.resolve(out[i].routedSlots);
    }
    return out;
  }
  if (rec < 0) return Promise.all(strategies.map((s, i) => run(s, i, {})));
  let settle!: { resolve: (s: RoutedSlots | undefined) => void; reject: (e: unknown) => void };
  const slots = new Promise<RoutedSlots | undefined>((resolve, reject) => (settle = { resolve, reject }));
  // Handled here too: a recorder that fails with no other run awaiting is not an unhandled rejection.
  slots.catch(() => undefined);
  const runs = new Array<Promise<T>>(strategies.length);
  for (const i of order) {
    if (i === rec) {
      runs[i] = run(strategies[i], i, { onRouted: settle.resolve });
      // A recorder that finished without handing counts out: its result's, or none.
      runs[i].then((r) => settle.resolve(r.routedSlots), settle.reject);
    } else runs[i] = run(strategies[i], i, { slots });
  }
  return Promise.all(runs);
}

/** runGroup's hooks for a run handed `hand`: the recorder's counts (or its own) retarget its scale model. */
export function routingHooks(hand: RoutingHand): Pick<RunHooks, 'onRouted' | 'routing'> {
  return {
    ...(hand.onRouted ? { onRouted: hand.onRouted } : {}),
    routing: { ...(hand.slots ? { slots: hand.slots } : {}), retarget: withRoutedTarget },
  };
}
