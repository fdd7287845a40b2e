// Lab: quantized-weight decode (src/kernels/weight-decode.ts) — unpacks E packed experts
// (gate, up, down in --weights format) to f32 with the grouped GEMM's decoders. The GPU must
// reproduce the CPU decoder (formats.ts decodeExpert) bit for bit.
import { createBuffer, createBufferWith, readF32, type Gpu } from '../../gpu/index.ts';
import { UnpackKernel, type MatrixName } from '../../kernels/weight-decode.ts';
import { expertLayout, packRandomExpert } from '../../model/formats.ts';
import { Rng } from '../../util/random.ts';
import { checkBits } from '../checks.ts';
import type { LabKernel, LabProblem, LabShape } from '../types.ts';

const MATRICES: MatrixName[] = ['gate', 'up', 'down'];

export const decodeLab: LabKernel<Float32Array> = {
  name: 'decode',
  summary:
    'quantized-weight decode: E packed experts (int8, fp8, nvfp4, f32) unpacked to f32, bit-exact vs the CPU decoder',
  bound: 'memory',
  uses: ['hidden', 'expertHidden', 'experts', 'format'],
  async prepare(gpu: Gpu, s: LabShape, opts): Promise<LabProblem<Float32Array>> {
    if (opts.variant !== undefined) throw new Error('decode has no variants');
    const { hidden: H, expertHidden: F, experts: E, format } = s;
    const layout = expertLayout(format, H, F);
    // Expert blocks at 256-byte steps: each is bound at its own offset (minStorageBufferOffsetAlignment).
    const align = gpu.device.limits.minStorageBufferOffsetAlignment;
    const strideWords = Math.ceil(layout.bytes / align) * (align / 4);
    const words = new Uint32Array(E * strideWords);
    const rng = new Rng(opts.seed).fork('weights');
    const want = new Float32Array(E * 3 * H * F);
    for (let e = 0; e < E; e++) {
      const d = packRandomExpert(layout, rng, words, e * strideWords);
      MATRICES.forEach((m, i) => want.set(d[m], (3 * e + i) * H * F));
    }
    const kernel = await UnpackKernel.create(gpu, layout);
    const packed = createBufferWith(gpu, words, 'lab decode packed');
    const outs = [...Array(3 * E)].map((_, i) =>
      createBuffer(gpu, 4 * H * F, `lab decode ${MATRICES[i % 3]} ${Math.floor(i / 3)}`),
    );
    const blocks = [...Array(E)].map((_, e): GPUBufferBinding => ({
      buffer: packed,
      offset: e * strideWords * 4,
      size: layout.bytes,
    }));
    return {
      kernel: 'decode',
      shape: { hidden: H, expertHidden: F, experts: E, format },
      variant: '-',
      variantSource: 'fixed',
      bound: 'memory',
      flops: 0,
      bytes: E * (layout.bytes + 4 * 3 * H * F),
      passes: 3 * E,
      outputs: outs,
      encode(enc, timer) {
        for (let i = 0; i < 3 * E; i++) kernel.encode(enc, MATRICES[i % 3], blocks[Math.floor(i / 3)], outs[i], timer);
      },
      async read() {
        const all = new Float32Array(E * 3 * H * F);
        for (let i = 0; i < outs.length; i++) all.set(await readF32(gpu, outs[i], H * F), i * H * F);
        return all;
      },
      check: (out) => checkBits(`${E} experts × gate, up, down (${format})`, out, want),
      destroy() {
        kernel.destroy();
        packed.destroy();
        outs.forEach((b) => b.destroy());
      },
    };
  },
};
