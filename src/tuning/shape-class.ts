// Shape classes: which problems share one tuned configuration. A class is the kernel, an
// exact part (`base`) and a size bucket (`rows`); sizes are bucketed to the nearest power of
// two (log scale), so a class covers shapes within ~1.4× of its centre. Why these fields:
//   expert-gemm — format, H and F set the code, the loads per FMA and the column tiles;
//                 rows per expert (T·K/E) sets how full the row tiles are.
//   router      — H and E set the work per token; K the selection; tokens how many share a load.
//   attention   — heads and head size set the tile; the mean request length the key loop.
import type { WeightFormat } from '../model/formats.ts';
import { pow2Bucket, type ShapeClass } from './tuning-cache.ts';

export function gemmClassBase(format: WeightFormat, hidden: number, expertHidden: number): string {
  return `${format} H${pow2Bucket(hidden)} F${pow2Bucket(expertHidden)}`;
}

export function gemmShapeClass(s: {
  format: WeightFormat;
  hidden: number;
  expertHidden: number;
  tokens: number;
  topK: number;
  experts: number;
}): ShapeClass {
  return {
    kernel: 'expert-gemm',
    base: gemmClassBase(s.format, s.hidden, s.expertHidden),
    rows: pow2Bucket((s.tokens * s.topK) / s.experts),
  };
}

export function routerShapeClass(s: { hidden: number; experts: number; topK: number; tokens: number }): ShapeClass {
  return {
    kernel: 'router',
    base: `H${pow2Bucket(s.hidden)} E${pow2Bucket(s.experts)} K${s.topK}`,
    rows: pow2Bucket(s.tokens),
  };
}

export function attentionShapeClass(s: { heads: number; headDim: number; lengths: readonly number[] }): ShapeClass {
  const mean = s.lengths.reduce((a, b) => a + b, 0) / Math.max(1, s.lengths.length);
  return { kernel: 'attention', base: `heads${s.heads} d${s.headDim}`, rows: pow2Bucket(mean) };
}
