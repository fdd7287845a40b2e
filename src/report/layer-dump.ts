// The --dump format of `npm run moe` (exact; other tools read it): one .npy per tensor,
// little-endian, C order. Weights are the decoded f32 values the kernels multiply with.
// Node only.
import type { DecodedLayerWeights } from '../layer/host-weights.ts';
import type { MoeConfig } from '../model/config.ts';
import { writeNpy } from './npy-node.ts';

export interface LayerDumpData {
  cfg: MoeConfig;
  tokens: number;
  weights: DecodedLayerWeights;
  x: Float32Array; // [T,H]
  topkIdx: Int32Array; // [T,K]
  topkWeight: Float32Array; // [T,K]
  out: Float32Array; // [T,H]
}

/** Concatenates per-expert matrices into one [E, rows, cols] tensor. */
function stack(mats: Float32Array[], E: number, size: number, what: string): Float32Array {
  const out = new Float32Array(E * size);
  for (let e = 0; e < E; e++) {
    if (!mats[e]) throw new Error(`dump: ${what} of expert ${e} is missing`);
    out.set(mats[e], e * size);
  }
  return out;
}

/** Writes the layer's tensors into `dir`; returns the file names written. */
export async function writeLayerDump(dir: string, d: LayerDumpData): Promise<string[]> {
  const { cfg, tokens: T, weights: w } = d;
  const { hidden: H, expertHidden: F, experts: E, topK: K, sharedHidden: Fs } = cfg;
  const files: [string, Float32Array | Int32Array, number[]][] = [
    ['x', d.x, [T, H]],
    ['router', w.router, [E, H]],
  ];
  if (cfg.correctionBias && w.bias) files.push(['bias', w.bias, [E]]);
  files.push(
    ['w_gate', stack(w.gate, E, F * H, 'gate'), [E, F, H]],
    ['w_up', stack(w.up, E, F * H, 'up'), [E, F, H]],
    ['w_down', stack(w.down, E, H * F, 'down'), [E, H, F]],
  );
  if (w.shared) {
    files.push(
      ['shared_gate', w.shared.gate, [Fs, H]],
      ['shared_up', w.shared.up, [Fs, H]],
      ['shared_down', w.shared.down, [H, Fs]],
    );
    if (w.shared.expertGate) files.push(['shared_expert_gate', w.shared.expertGate, [H]]);
  }
  files.push(['topk_idx', d.topkIdx, [T, K]], ['topk_weight', d.topkWeight, [T, K]], ['out', d.out, [T, H]]);
  for (const [name, data, shape] of files) await writeNpy(dir, name, data, shape);
  return files.map(([n]) => `${n}.npy`);
}
