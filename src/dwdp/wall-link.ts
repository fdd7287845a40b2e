// The link model run against the real clock: the wall-clock transport submits every
// transfer here and completes it no earlier than the model says it lands, so achieved
// bandwidth, copy-engine contention and the contention fix are what the link model
// prescribes. The same fluid engine (src/timeline/link.ts) drives the virtual-time scheduler, so
// both clocks share one definition of the NVLink stand-in.
import { LinkFluid, type EnginePiece, type LinkSpec, type TransferKind } from '../timeline/link.ts';

interface Pending {
  resolve: () => void;
}

export class WallLink {
  private readonly engine: LinkFluid;
  private readonly pending = new Map<number, Pending>();
  private readonly t0: number;
  private nextKey = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** Copy-engine occupancy as the model drew it, in ms since the link was created. */
  readonly pieces: EnginePiece[] = [];

  constructor(
    readonly spec: LinkSpec,
    private readonly clock: () => number = () => performance.now(),
  ) {
    this.t0 = clock();
    this.engine = new LinkFluid(spec, (p) => this.pieces.push(p));
  }

  /** Milliseconds since the link was created (the wall timeline's origin). */
  now(): number {
    return this.clock() - this.t0;
  }

  /** Submits a transfer now; resolves when the model says its last byte has landed. */
  transfer(kind: TransferKind, src: number, dst: number, bytes: number): Promise<void> {
    this.advance();
    const key = this.nextKey++;
    const done = new Promise<void>((resolve) => this.pending.set(key, { resolve }));
    this.engine.submit(key, kind, src, dst, bytes);
    this.advance();
    return done;
  }

  /** Wall time during which some pull into `rank` was moving bytes. */
  pullBusyMs(rank: number): number {
    this.advance();
    return this.engine.pullBusyMs(rank);
  }

  private advance(): void {
    const t = Math.max(this.engine.timeMs, this.now());
    for (const key of this.engine.advanceTo(t)) {
      this.pending.get(key)!.resolve();
      this.pending.delete(key);
    }
    this.arm();
  }

  /**
   * One timer for the model's next event; it re-arms itself until nothing is in flight. Timers
   * run in whole milliseconds, so the delay is rounded up: a landing a hair past a millisecond
   * (a 1/3 share is not exact in doubles: 63.00000000000001) would otherwise fire the timer at
   * 63, find nothing due and re-arm with a sub-millisecond delay, which runtimes round their own
   * way (on the test's fake clock that landing came at 70 instead of 64).
   */
  private arm(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const next = this.engine.nextEventMs();
    if (!Number.isFinite(next)) return;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.advance();
      },
      Math.max(0, Math.ceil(next - this.now())),
    );
  }
}
