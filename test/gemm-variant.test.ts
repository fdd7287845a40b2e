import { describe, expect, it } from 'vitest';
import {
  checkVariant,
  fitRowsPerExpert,
  parseVariant,
  pickMatrixConfig,
  shaderKey,
  tileShape,
  variantName,
  variantNeeds,
  workgroupBytes,
  type TileVariant,
} from '../src/kernels/gemm-variant.ts';
import {
  F16_SWEEP_CANDIDATES,
  QUAD_SWEEP_CANDIDATES,
  SGM_SWEEP_CANDIDATES,
  SUBGROUP_SWEEP_CANDIDATES,
  TILE_SWEEP_CANDIDATES,
  VARIANT_FAMILIES,
} from '../src/kernels/gemm-tuning.ts';

const problem = { format: 'f32', hidden: 512, expertHidden: 256, experts: 32, block: [128, 128] } as const;

describe('GEMM variant grammar', () => {
  it('parses every kind and prints the same name back', () => {
    for (const s of [
      'naive',
      'tile:4x4:8x8',
      'sx4:8x4:2x2',
      'sx4:8x4:2x2:loop',
      'sw4:4x8:2x2:loop',
      'sx4:8x4:4x4:quad',
      'sw4:4x8:4x4:loop:quad',
      'tile:3x2:4x5',
      'wg:4x4:8x8',
      'wg:4x4:8x8:f16',
      'sgm:2x2',
      'sgm:2x1:16x8x16:f16',
      'sgm:4x4:8x8x8',
    ]) {
      expect(variantName(parseVariant(s))).toBe(s);
    }
    expect(parseVariant(' sx4:8x4:2x2 ')).toEqual({ kind: 'sx4', rows: 8, cols: 4, groupRows: 2, groupCols: 2 });
    expect(parseVariant('sw4:4x8:4x4:loop:quad')).toEqual({
      kind: 'sw4',
      rows: 4,
      cols: 8,
      groupRows: 4,
      groupCols: 4,
      loopWords: true,
      quad: true,
    });
    // Quads need subgroups of a multiple of 4 lanes and whole subgroups per workgroup; without ':quad', exactly 4 lanes.
    expect(variantNeeds(parseVariant('sx4:8x4:4x4:quad'))).toMatchObject({ subgroupsOf4: false, subgroupQuads: 64 });
    expect(variantNeeds(parseVariant('sx4:8x4:4x4'))).toMatchObject({ subgroupsOf4: true, subgroupQuads: 0 });
    expect(variantNeeds(parseVariant('tile:4x4:8x8'))).toMatchObject({ subgroupsOf4: false, subgroupQuads: 0 });
  });

  it('refuses malformed names and out-of-range fields, naming the field and a valid choice', () => {
    expect(() => parseVariant('sx4:8x4')).toThrow(/expected 'naive', kind:rows×cols/);
    expect(() => parseVariant('wmma:8x4:2x2')).toThrow(/kind tile, sx4, sw4 or wg/);
    expect(() => parseVariant('sx4:8x4:2x2:f16')).toThrow(
      /only the wg and sgm kinds take ':f16' \(e\.g\. wg:8x4:2x2:f16\)/,
    );
    expect(() => parseVariant('wg:4x4:8x8:f16:loop')).toThrow(/expected 'naive', kind/);
    expect(() => parseVariant('sgm:2x2:8x8')).toThrow(/or sgm:rows×cols\[:M×N×K\]\[:f16\]/);
    expect(() => parseVariant('sgm:5x1')).toThrow(/rows = 5 result matrices, at most 4 \(e\.g\. sgm:2x2\)/);
    expect(() => parseVariant('sgm:2x2:8x6x8')).toThrow(/subgroup-matrix N = 6 must be a multiple of 4 in 4\.\.64/);
    expect(() => checkVariant({ kind: 'sgm', rows: 1, cols: 1, groupRows: 2, groupCols: 1 })).toThrow(/one subgroup/);
    expect(() =>
      checkVariant({ kind: 'wg', rows: 1, cols: 1, groupRows: 1, groupCols: 1, matrix: { m: 8, n: 8, k: 8 } }),
    ).toThrow(/only sgm variants have a subgroup-matrix shape/);
    expect(() =>
      checkVariant({ kind: 'wg', rows: 1, cols: 1, groupRows: 1, groupCols: 1, operands: 'bf16' as 'f16' }),
    ).toThrow(/operands must be 'f32' or 'f16'/);
    expect(() => parseVariant('sx4:6x4:2x2')).toThrow(/multiple of 4 \(e\.g\. 8\)/);
    expect(() => parseVariant('sx4:8x4:2x2:quad:loop')).toThrow(
      /expected 'naive', kind:rows×cols:groupRows×groupCols\[:loop\]\[:quad\]/,
    );
    expect(() => parseVariant('tile:3x4:2x2:quad')).toThrow(
      /only the subgroup kinds sx4 and sw4 take ':quad' \(e\.g\. sx4:4x4:2x2:quad\)/,
    );
    expect(() => parseVariant('wg:4x4:8x8:quad:f16')).toThrow(/only the subgroup kinds sx4 and sw4 take ':quad'/);
    expect(() => parseVariant('sgm:2x2:quad')).toThrow(/expected 'naive'/);
    expect(() =>
      checkVariant({ kind: 'sx4', rows: 4, cols: 1, groupRows: 1, groupCols: 1, quad: 1 as unknown as true }),
    ).toThrow(/quad must be true or omitted/);
    expect(() => parseVariant('tile:65x1:1x1')).toThrow(/rows = 65 must be an integer in 1\.\.64/);
    expect(() => parseVariant('tile:1x1:32x16')).toThrow(/512 invocations per workgroup, at most 256/);
    expect(() => checkVariant({ kind: 'tile', rows: 1.5, cols: 1, groupRows: 1, groupCols: 1 })).toThrow(/rows = 1.5/);
  });

  it('tile shapes: rows of one expert, output columns and invocations per workgroup', () => {
    expect(tileShape(parseVariant('sx4:8x4:2x2') as TileVariant)).toEqual({ tileRows: 16, tileCols: 32, threads: 16 });
    expect(tileShape(parseVariant('sw4:4x8:2x2') as TileVariant)).toEqual({ tileRows: 32, tileCols: 16, threads: 16 });
    expect(tileShape(parseVariant('tile:4x4:8x8') as TileVariant)).toEqual({ tileRows: 32, tileCols: 32, threads: 64 });
    expect(tileShape(parseVariant('wg:4x2:8x16') as TileVariant)).toEqual({ tileRows: 32, tileCols: 32, threads: 128 });
    // sgm: rows × cols result matrices of M×N, one subgroup of the adapter's lanes.
    const sgm = { ...(parseVariant('sgm:2x3:16x8x16') as TileVariant), lanes: 32 };
    expect(tileShape(sgm)).toEqual({ tileRows: 32, tileCols: 24, threads: 32 });
    expect(() => tileShape(parseVariant('sgm:2x2') as TileVariant)).toThrow(/no subgroup-matrix shape yet/);
  });

  it('workgroup memory: wg stages 16 values of every tile row and weight row (f16 half the bytes), others none', () => {
    // (32 rows + 32 columns × 2 matrices) × 4 vec4 × 16 B + 4 B per row.
    expect(workgroupBytes(parseVariant('wg:4x4:8x8'), 2)).toBe((32 + 64) * 4 * 16 + 128);
    expect(workgroupBytes(parseVariant('wg:4x4:8x8:f16'), 2)).toBe((32 + 64) * 4 * 8 + 128);
    expect(workgroupBytes(parseVariant('wg:4x4:8x8'), 1)).toBe((32 + 32) * 4 * 16 + 128);
    expect(workgroupBytes(parseVariant('tile:4x4:8x8'), 2)).toBe(0);
    const none = { subgroupsOf4: false, subgroupQuads: 0, shaderF16: false, subgroupMatrix: false };
    expect(variantNeeds(parseVariant('wg:4x4:8x8:f16'))).toEqual({ ...none, shaderF16: true });
    expect(variantNeeds(parseVariant('sw4:4x8:2x2'))).toEqual({ ...none, subgroupsOf4: true });
    expect(variantNeeds(parseVariant('wg:4x4:8x8'))).toEqual(none);
    expect(variantNeeds(parseVariant('sgm:2x2:f16'))).toEqual({ ...none, shaderF16: true, subgroupMatrix: true });
    // sgm: a chunk of max(16, K) values of inputs and weights, plus the f32 results.
    const sgm = (s: string) => workgroupBytes(parseVariant(s), 2);
    expect(sgm('sgm:2x2:16x16x16:f16')).toBe((32 + 64) * 16 * 2 + 128 + 32 * 64 * 4);
    expect(sgm('sgm:2x2:8x8x32')).toBe((16 + 32) * 32 * 4 + 64 + 16 * 32 * 4);
  });
});

describe('subgroup-matrix shapes from the adapter', () => {
  const cfg = (m: number, n: number, k: number, t: string, r = 'f32') => ({
    m,
    n,
    k,
    componentType: t,
    resultComponentType: r,
  });
  const configs = [cfg(8, 8, 8, 'f32'), cfg(16, 16, 16, 'f16'), cfg(16, 8, 16, 'f16'), cfg(16, 16, 16, 'f16', 'f16')];
  const pick = (s: string, c = configs) => variantName(pickMatrixConfig(parseVariant(s) as TileVariant, c));

  it('picks the largest config of the operand type with f32 results, or checks the one given', () => {
    expect(pick('sgm:2x2:f16')).toBe('sgm:2x2:16x16x16:f16');
    expect(pick('sgm:2x2')).toBe('sgm:2x2:8x8x8');
    expect(pick('sgm:1x2:16x8x16:f16')).toBe('sgm:1x2:16x8x16:f16');
    expect(pick('wg:4x4:8x8')).toBe('wg:4x4:8x8');
  });

  it('refuses a shape or operand type the adapter lacks, listing what it has', () => {
    expect(() => pick('sgm:2x2:8x8x8:f16')).toThrow(
      /no 8x8x8 f16→f32 subgroup-matrix config \(it has: 8x8x8 f32→f32, 16x16x16 f16→f32, 16x8x16 f16→f32, 16x16x16 f16→f16\)/,
    );
    expect(() => pick('sgm:2x2', [cfg(16, 16, 16, 'f16')])).toThrow(/no f32→f32 subgroup-matrix config/);
    expect(() => pick('sgm:2x2', [])).toThrow(/\(it has: none\)/);
  });
});

describe('tile rows follow rows per expert', () => {
  const fit = (s: string, rows: number | undefined) => variantName(fitRowsPerExpert(parseVariant(s), rows));

  it('folds row groups into column groups while half the tile still covers the rows', () => {
    expect(fit('tile:4x4:8x8', 32)).toBe('tile:4x4:8x8'); // 32-row tile, 32 rows: kept
    expect(fit('tile:4x4:8x8', 16)).toBe('tile:4x4:4x16');
    expect(fit('tile:4x4:8x8', 5)).toBe('tile:4x4:2x32'); // 8 rows cover 5; 4 would not
    expect(fit('tile:4x4:8x8', 1)).toBe('tile:4x4:1x64');
    expect(fit('sx4:8x4:2x2', 8)).toBe('sx4:8x4:1x4');
    expect(fit('sw4:4x8:2x2:loop', 3)).toBe('sw4:4x8:1x4:loop');
  });

  it('keeps invocations per workgroup and never leaves a tile shorter than the rows it must cover', () => {
    for (const s of ['tile:4x4:8x8', 'sx4:8x4:2x2', 'sw4:4x8:2x2', 'tile:2x4:16x8']) {
      const v = parseVariant(s) as TileVariant;
      for (let rows = 1; rows <= 80; rows++) {
        const f = fitRowsPerExpert(v, rows);
        expect(tileShape(f).threads).toBe(tileShape(v).threads);
        expect(tileShape(f).tileRows).toBeGreaterThanOrEqual(Math.min(rows, tileShape(v).tileRows));
      }
    }
  });

  it('leaves naive, odd row groups and unknown rows alone', () => {
    expect(fit('naive', 1)).toBe('naive');
    expect(fit('tile:4x4:3x8', 1)).toBe('tile:4x4:3x8');
    expect(fit('tile:4x4:8x8', undefined)).toBe('tile:4x4:8x8');
    expect(fit('tile:4x4:8x8', 0)).toBe('tile:4x4:8x8');
  });
});

describe('shader key', () => {
  const key = (s: string, over: Partial<typeof problem> | Record<string, unknown> = {}) =>
    shaderKey(parseVariant(s), { ...problem, ...over } as typeof problem);

  it('names what changes the generated code and nothing else', () => {
    // f32 has no code-word loop, and only fp8 reads the scale block.
    expect(key('sx4:8x4:2x2:loop')).toBe(key('sx4:8x4:2x2'));
    expect(key('sx4:8x4:2x2', { block: [64, 64] })).toBe(key('sx4:8x4:2x2'));
    expect(key('sx4:8x4:2x2:loop', { format: 'fp8' })).not.toBe(key('sx4:8x4:2x2', { format: 'fp8' }));
    expect(key('sx4:8x4:2x2', { format: 'fp8', block: [64, 64] })).not.toBe(key('sx4:8x4:2x2', { format: 'fp8' }));
    // wg decodes whole words into workgroup memory: no code-word loop; f16 operands change the code.
    expect(key('wg:4x4:8x8:loop', { format: 'nvfp4' })).toBe(key('wg:4x4:8x8', { format: 'nvfp4' }));
    expect(key('wg:4x4:8x8:f16')).not.toBe(key('wg:4x4:8x8'));
    expect(key('wg:4x4:8x8')).not.toBe(key('tile:4x4:8x8'));
    // ':quad' exchanges by subgroupShuffle and takes roles from a counter: other code, every format.
    expect(key('sx4:8x4:2x2:quad')).not.toBe(key('sx4:8x4:2x2'));
    expect(key('sw4:4x8:2x2:loop:quad', { format: 'nvfp4' })).not.toBe(key('sw4:4x8:2x2:loop', { format: 'nvfp4' }));
    // sgm: the matrix shape, operands and lanes change the code.
    const sgm = (s: string, lanes = 32) => shaderKey({ ...(parseVariant(s) as TileVariant), lanes }, problem);
    expect(sgm('sgm:2x2:16x16x16:f16')).not.toBe(sgm('sgm:2x2:16x8x16:f16'));
    expect(sgm('sgm:2x2:16x16x16:f16')).not.toBe(sgm('sgm:2x2:16x16x16:f16', 64));
    expect(sgm('sgm:2x2:16x16x16:f16')).not.toBe(sgm('sgm:2x2:16x16x16'));
    const base = key('sx4:8x4:2x2');
    for (const other of [
      key('sx4:8x4:1x4'),
      key('sw4:8x4:2x2'),
      key('sx4:4x8:2x2'),
      key('sx4:8x4:2x2', { hidden: 256 }),
      key('sx4:8x4:2x2', { expertHidden: 128 }),
      key('sx4:8x4:2x2', { experts: 8 }),
      key('sx4:8x4:2x2', { format: 'int8' }),
    ])
      expect(other).not.toBe(base);
  });
});

describe('the variants the sweeps and the benchmark try', () => {
  it('all parse, and every workgroup-memory one fits the WebGPU default of 16 KiB of workgroup memory', () => {
    const all = [
      ...TILE_SWEEP_CANDIDATES,
      ...SUBGROUP_SWEEP_CANDIDATES,
      ...F16_SWEEP_CANDIDATES,
      ...SGM_SWEEP_CANDIDATES,
      ...QUAD_SWEEP_CANDIDATES,
      ...VARIANT_FAMILIES.map((f) => f.variant),
    ];
    for (const s of all) {
      const v = parseVariant(s);
      expect(variantName(v)).toBe(s);
      // An sgm variant without M×N×K takes its shape from the adapter: checked with the largest
      // shape in use (16×16×16, f32 operands) in its place.
      const sized = v.kind === 'sgm' && !v.matrix ? { ...v, matrix: { m: 16, n: 16, k: 16 } } : v;
      // The larger sgm candidates need more than the default (the sweep drops them where the adapter's limit is lower).
      if (!SGM_SWEEP_CANDIDATES.includes(s) || s === 'sgm:2x2' || s === 'sgm:2x2:f16')
        expect(workgroupBytes(sized, 2), s).toBeLessThanOrEqual(16384);
    }
    expect(F16_SWEEP_CANDIDATES.every((s) => variantNeeds(parseVariant(s)).shaderF16)).toBe(true);
    expect(TILE_SWEEP_CANDIDATES.some((s) => s.startsWith('wg:'))).toBe(true);
    expect(QUAD_SWEEP_CANDIDATES.every((s) => variantNeeds(parseVariant(s)).subgroupQuads > 0)).toBe(true);
  });
});
