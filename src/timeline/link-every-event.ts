// The fluid link engine without its shortcut (advanceToActivity): given it,
// the scheduler stops the ranks at each of the engine's events, as it did before them. The
// "before" of the tests that hold the shortcut to the same Schedule bit for bit
// (test/sim-scheduler.test.ts) and of `npm run bench:sim`'s side-by-side timing; production
// never imports it.
import { LinkFluid, type EnginePiece, type LinkSpec, type PieceMode } from './link.ts';
import type { LinkEngine } from './scheduler.ts';

export class EveryEventLinkFluid implements LinkEngine {
  private readonly e: LinkFluid;
  constructor(spec: LinkSpec, onPiece?: (p: EnginePiece) => void, mode?: PieceMode) {
    this.e = new LinkFluid(spec, onPiece, mode);
  }
  get timeMs(): number {
    return this.e.timeMs;
  }
  get busy(): boolean {
    return this.e.busy;
  }
  get wholeTransfers(): boolean {
    return this.e.wholeTransfers;
  }
  submit(key: number, kind: 'pull' | 'send', src: number, dst: number, bytes: number): void {
    this.e.submit(key, kind, src, dst, bytes);
  }
  nextEventMs(): number {
    return this.e.nextEventMs();
  }
  advanceTo(t: number): readonly number[] {
    return this.e.advanceTo(t);
  }
  pullActive(rank: number): boolean {
    return this.e.pullActive(rank);
  }
  pullBusyMs(rank: number): number {
    return this.e.pullBusyMs(rank);
  }
}
