// Paired step timing: the same step of several side-by-side runs timed back to back.
//
// On a CPU-emulated adapter shared with other work, one kernel's time moves by tens of percent
// within seconds, as the host's load does. Comparing two runs' totals (or each step's minimum
// over rounds) leaves that drift in the comparison. Pairing removes most of it: when every
// side (one run each, e.g. DP, DWDP and a DP control) has reached the same step — the same
// rank, label and occurrence — the step is submitted once per side, the sides in turn, for
// `rounds` rounds, under one hold of the process's GPU lock:
//
//     round i: sides in the order rotated by i (A B C, B C A, C A B, …)
//
// so round i's samples of the sides lie within one step's time of each other, and no side is
// always first. A side's sample i against another's sample i is one paired ratio; the median of
// those ratios per category, with its interquartile range, is what the sides' difference is
// (pairedRatiosByCategory, src/strategies/metrics.ts). Steps of categories outside `categories`
// (a DWDP-only merge, say) run unpaired. A side that ends (done or failed) is released from
// every pairing, so the others never wait for it.
import type { ComputeCategory } from '../timeline/categories.ts';
import { exclusiveGpuWork } from './runtime.ts';

/** One paired step: its rank, label and occurrence, and per side, per round, ms per category. */
export interface PairedStep {
  rank: number;
  label: string;
  occurrence: number;
  /** samples[side][round]: that submission's ms per category (a step's passes may fall in several). */
  samples: Record<string, number>[][];
}

/** One submission of a side's step: ms per category of its passes. */
export type PairedSubmit = () => Promise<Record<string, number>>;

interface Pending {
  step: PairedStep;
  submits: (PairedSubmit | undefined)[];
  done: ((samples: Record<string, number>[] | Error) => void)[];
}

export class PairedSteps {
  readonly steps: PairedStep[] = [];
  private readonly pending = new Map<string, Pending>();
  private readonly closed: boolean[];

  /**
   * `sides` runs, each step submitted `rounds` times per side; steps of `categories` are
   * paired. Throws naming the parameter when a count is not a positive integer.
   */
  constructor(
    readonly sides: number,
    readonly rounds: number,
    readonly categories: ReadonlySet<ComputeCategory>,
  ) {
    if (!(Number.isInteger(sides) && sides >= 2))
      throw new Error(`paired steps: sides must be an integer ≥ 2 (got ${sides}): pairing needs two runs or more`);
    if (!(Number.isInteger(rounds) && rounds >= 1 && rounds <= 64))
      throw new Error(`paired steps: rounds must be an integer from 1 to 64 (got ${rounds})`);
    this.closed = Array.from({ length: sides }, () => false);
  }

  /** Whether steps of `category` are paired. */
  pairs(category: ComputeCategory): boolean {
    return this.categories.has(category);
  }

  /**
   * Side `side` has reached step (rank, label, occurrence): resolves with its `rounds` samples
   * once every open side has reached it and the rounds have run.
   */
  arrive(
    side: number,
    at: { rank: number; label: string; occurrence: number },
    submit: PairedSubmit,
  ): Promise<Record<string, number>[]> {
    if (!(Number.isInteger(side) && side >= 0 && side < this.sides))
      throw new Error(`paired steps: side ${side} out of range 0..${this.sides - 1}`);
    if (this.closed[side]) throw new Error(`paired steps: side ${side} arrived at '${at.label}' after it closed`);
    const key = `${at.rank}\u0000${at.label}\u0000${at.occurrence}`;
    let p = this.pending.get(key);
    if (!p) {
      p = {
        step: { ...at, samples: Array.from({ length: this.sides }, () => []) },
        submits: Array.from({ length: this.sides }, () => undefined),
        done: [],
      };
      this.pending.set(key, p);
    }
    if (p.submits[side])
      throw new Error(`paired steps: side ${side} arrived twice at '${at.label}' on rank ${at.rank}`);
    p.submits[side] = submit;
    const result = new Promise<Record<string, number>[]>((resolve, reject) => {
      p.done[side] = (r) => (r instanceof Error ? reject(r) : resolve(r));
    });
    this.startIfReady(key, p);
    return result;
  }

  /** Side `side` will reach no more steps: no pairing waits for it any longer. */
  close(side: number): void {
    this.closed[side] = true;
    for (const [key, p] of [...this.pending]) this.startIfReady(key, p);
  }

  private startIfReady(key: string, p: Pending): void {
    const present = p.submits.flatMap((s, i) => (s ? [i] : []));
    if (present.length === 0 || p.submits.some((s, i) => !s && !this.closed[i])) return;
    this.pending.delete(key);
    void exclusiveGpuWork(async () => {
      for (let round = 0; round < this.rounds; round++)
        for (let j = 0; j < present.length; j++) {
          const side = present[(j + round) % present.length];
          p.step.samples[side].push(await p.submits[side]!());
        }
    }).then(
      () => {
        if (present.length === this.sides) this.steps.push(p.step);
        for (const side of present) p.done[side](p.step.samples[side]);
      },
      (e: unknown) => {
        const err = e instanceof Error ? e : new Error(String(e));
        for (const side of present) p.done[side](err);
      },
    );
  }
}
