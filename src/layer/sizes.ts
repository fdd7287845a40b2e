// The bytes a MoE layer run allocates, buffer by buffer, estimated from the config and the
// token count before anything is generated (src/gpu/budget.ts checks them). Each entry names
// the config keys and the flag that size it, so a refusal says what to change.
//
//   routed experts   E · bytes(expert)                   device (one buffer) and host (packed blocks)
//   router           E · H · 4                           device and host
//   activations      T · K · F · 4, outputs T · K · H · 4 device (scratch h and y)
//   token rows       T · H · 4                           device (x, out) and host (x, out, readback)
//   generation       3 · H · F · 4                       host (one expert's f32 master at a time)
// A group run holds `layers` layers of host weights at once and stacks every rank's tokens.
import { sizeText, type SizeItem } from '../gpu/index.ts';
import { sizeKeys, type MoeConfig } from '../model/config.ts';
import { expertLayout, type WeightFormat } from '../model/formats.ts';

export interface LayerSizeOptions {
  /** Layers whose host weights are held at once (a group run: --layers; default 1). */
  layers?: number;
  /** How the token count was given, for messages (default `${tokens} tokens`). */
  tokensText?: string;
  /** The run decodes the weights to f32 on the host (a float64 check, a dump): and which flag asks for it. */
  decodedFor?: string;
}

/** Every buffer of a layer run for `tokens` tokens, with the keys and flags that size it. */
export function layerSizes(
  cfg: MoeConfig,
  format: WeightFormat,
  tokens: number,
  opts: LayerSizeOptions = {},
): SizeItem[] {
  const k = sizeKeys(cfg.family);
  const { hidden: H, expertHidden: F, experts: E, topK: K } = cfg;
  const L = opts.layers ?? 1;
  const T = opts.tokensText ?? `${tokens} tokens`;
  // Layout arithmetic only (no allocation); a format/size mismatch is layerLayout's to report.
  const expertBytes = layoutBytes(format, H, F, cfg.nativeWeightBlock);
  const rows = tokens * K;
  const items: SizeItem[] = [
    {
      why: `one layer's routed experts (${k.experts}=${E} × ${sizeText(expertBytes)} per expert in ${format}; ${k.hidden}=${H}, ${k.expertHidden}=${F})`,
      bytes: E * expertBytes,
      where: 'device',
    },
    {
      why:
        `the routed experts on the host (${L} layer(s) × ${k.experts}=${E} × ${sizeText(expertBytes)} per expert in ${format}; ` +
        `${k.hidden}=${H}, ${k.expertHidden}=${F})`,
      bytes: E * expertBytes,
      where: 'host',
      count: L,
    },
    { why: `the router weights (${k.experts}=${E} × ${k.hidden}=${H})`, bytes: 4 * E * H, where: 'device' },
    {
      why: `the router weights on the host (${L} layer(s) × ${k.experts}=${E} × ${k.hidden}=${H})`,
      bytes: 4 * E * H,
      where: 'host',
      count: L,
    },
    {
      why: `one expert's f32 gate, up and down weights while generating them (each ${k.hidden}=${H} × ${k.expertHidden}=${F})`,
      bytes: 4 * F * H,
      where: 'host',
      count: 3,
    },
    {
      why: `the expert outputs for ${T} × top-k ${K} (${k.hidden}=${H})`,
      bytes: 4 * rows * H,
      where: 'device',
    },
    {
      why: `the expert activations for ${T} × top-k ${K} (${k.expertHidden}=${F})`,
      bytes: 4 * rows * F,
      where: 'device',
    },
    // x, the output and the last layer's input on the host; x and out on the device.
    { why: `the token rows for ${T} (${k.hidden}=${H})`, bytes: 4 * tokens * H, where: 'both' },
    { why: `the output rows for ${T} (${k.hidden}=${H})`, bytes: 4 * tokens * H, where: 'both' },
  ];
  if (opts.decodedFor) {
    const dims = `${k.experts}=${E} × ${k.hidden}=${H} × ${k.expertHidden}=${F}`;
    items.push(
      {
        why: `the decoded f32 expert weights for ${opts.decodedFor} (gate, up, down of ${dims})`,
        bytes: 4 * H * F,
        where: 'host',
        count: 3 * E,
      },
      {
        why: `the stacked expert weights of ${opts.decodedFor} (one array per gate, up, down: ${dims})`,
        bytes: 4 * E * H * F,
        where: 'host',
      },
    );
  }
  if (cfg.sharedHidden > 0) {
    const sharedBytes = layoutBytes(format, H, cfg.sharedHidden, cfg.nativeWeightBlock);
    items.push(
      {
        why: `the shared expert (${k.sharedHidden}=${cfg.sharedHidden}, ${k.hidden}=${H})`,
        bytes: sharedBytes,
        where: 'both',
      },
      {
        why: `the shared expert's activations for ${T} (${k.sharedHidden}=${cfg.sharedHidden})`,
        bytes: 4 * tokens * cfg.sharedHidden,
        where: 'device',
      },
    );
  }
  return items;
}

/** Bytes of one expert block; falls back to f32-size arithmetic when the layout itself refuses the sizes. */
function layoutBytes(format: WeightFormat, H: number, F: number, block?: [number, number]): number {
  try {
    return expertLayout(format, H, F, { block }).bytes;
  } catch {
    return 3 * H * F * 4;
  }
}
