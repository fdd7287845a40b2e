// The naive grouped expert GEMM (shaders/naive_gemm.wgsl): one invocation per output,
// same data contract and weight formats as the tiled kernels. It is the benchmark's
// yardstick and a second, simple implementation. Select it with variant 'naive'.
import { wgslProgram, type WgslPart, type WgslProgram } from '../gpu/index.ts';
import type { MatrixLayout } from '../model/formats.ts';
import { BINDING, FORMAT_ID, u, type CodegenProblem, type Projection } from './expert-gemm-codegen.ts';

/** Constants and bindings for the naive kernel (shaders/naive_gemm.wgsl). */
function naivePrelude(p: CodegenProblem): WgslPart {
  const l = p.layout;
  const matrix = (m: MatrixLayout) =>
    `Matrix(${[m.codes, m.rowWords, m.scales, m.scaleRowWords, m.blockRows, m.blockCols, m.blocksPerRow, m.tensorScale].map(u).join(', ')})`;
  const lines = [
    `// Generated for ${l.format}, H=${l.hidden}, F=${l.expertHidden}, ${p.experts} experts, ${p.sources} weight source(s).`,
    `const H = ${u(l.hidden)};`,
    `const F = ${u(l.expertHidden)};`,
    `const EXPERTS = ${u(p.experts)};`,
    `const TILE_ROWS = 1u;`,
    `const FORMAT = ${u(FORMAT_ID[l.format])};`,
    `const GATE = ${matrix(l.gate)};`,
    `const UP = ${matrix(l.up)};`,
    `const DOWN = ${matrix(l.down)};`,
    `@group(0) @binding(${BINDING.input}) var<storage, read> input_rows: array<f32>;`,
    `@group(0) @binding(${BINDING.output}) var<storage, read_write> output_rows: array<f32>;`,
  ];
  for (let s = 0; s < p.sources; s++) lines.push(`@group(0) @binding(${BINDING.firstWeight + s}) var<storage, read> weights${s}: array<u32>;`);
  lines.push('fn weight_word(src: u32, i: u32) -> u32 {', '  switch src {');
  for (let s = 0; s < p.sources; s++) lines.push(`    case ${u(s)}: { return weights${s}[i]; }`);
  lines.push('    default: { return 0u; }', '  }', '}');
  return { file: '<generated naive_gemm prelude>', code: lines.join('\n') };
}

/** The naive kernel's program; its entry points are named after the projections. */
export function naiveProgram(p: CodegenProblem): Promise<WgslProgram> {
  return wgslProgram(naivePrelude(p), 'weight_decode.wgsl', 'expert_gemm.wgsl', 'naive_gemm.wgsl');
}

export type { Projection };
