// The naive grouped expert GEMM (shaders/naive_gemm.wgsl): one invocation per output,
// same data contract and weight formats as the tiled kernels. It is the benchmark's
// yardstick and a second, simple implementation. Select it with variant 'naive'.
import { wgslProgram, type WgslPart, type WgslProgram } from '../gpu/index.ts';
import type { MatrixLayout } from '../model/formats.ts';
import { BINDING, FORMAT_ID, u, type CodegenProblem, type Projection } from './expert-gemm-codegen.ts';

/** Four consecutive u32 words of a word-addressed weight buffer as one vec4u (WGSL). */
const quadOf = (b: string) => `vec4u(${b}[4u * i], ${b}[4u * i + 1u], ${b}[4u * i + 2u], ${b}[4u * i + 3u])`;

/** Constants, bindings and accessors for the naive kernel of one projection. */
function naivePrelude(p: CodegenProblem, proj: Projection): WgslPart {
  const l = p.layout;
  const reduction = proj === 'gate_up' ? l.hidden : l.expertHidden;
  const vecInput = reduction % 4 === 0;
  const quads = l.format === 'f32'; // f32 weights are read as vec4u, the others as u32 words
  const matrix = (m: MatrixLayout) =>
    `MatrixLayout(${[m.codes, m.rowWords, m.scales, m.scaleRowWords, m.blockRows, m.blockCols, m.blocksPerRow, m.tensorScale].map(u).join(', ')})`;
  const lines = [
    `// Generated: naive ${proj} for ${l.format}, H=${l.hidden}, F=${l.expertHidden}, ${p.experts} experts.`,
    `const H = ${u(l.hidden)};`,
    `const F = ${u(l.expertHidden)};`,
    `const EXPERTS = ${u(p.experts)};`,
    `const TILE_ROWS = 1u;`,
    `const FORMAT = ${u(FORMAT_ID[l.format])};`,
    `const GATE = ${matrix(l.gate)};`,
    `const UP = ${matrix(l.up)};`,
    `const DOWN = ${matrix(l.down)};`,
    `@group(0) @binding(${BINDING.input}) var<storage, read> input_rows: array<${vecInput ? 'vec4f' : 'f32'}>;`,
    `@group(0) @binding(${BINDING.output}) var<storage, read_write> output_rows: array<f32>;`,
  ];
  lines.push(`@group(0) @binding(${BINDING.weights}) var<storage, read> weights: array<${quads ? 'vec4u' : 'u32'}>;`);
  // Word i and the 4 words from 4i of the weights.
  lines.push('fn weight_word(i: u32) -> u32 {', `  return weights[${quads ? 'i / 4u][i % 4u' : 'i'}];`, '}');
  lines.push('fn weight_quad(i: u32) -> vec4u {', `  return ${quads ? 'weights[i]' : quadOf('weights')};`, '}');
  // Inputs base + k .. base + k + 3 of a row of length len (zero past its end).
  lines.push('fn inputs4(base: u32, k: u32, len: u32) -> vec4f {');
  if (vecInput) lines.push('  return input_rows[(base + k) / 4u];');
  else {
    lines.push(
      '  var v = vec4f(0.0);',
      '  for (var j = 0u; j < 4u; j++) {',
      '    if (k + j < len) {',
      '      v[j] = input_rows[base + k + j];',
      '    }',
      '  }',
      '  return v;',
    );
  }
  lines.push('}');
  return { file: `<generated naive_gemm ${proj} prelude>`, code: lines.join('\n') };
}

/** The naive kernel's program; its entry points are named after the projections. */
export function naiveProgram(p: CodegenProblem, proj: Projection): Promise<WgslProgram> {
  return wgslProgram(
    naivePrelude(p, proj),
    'weight_decode.wgsl',
    'expert_gemm.wgsl',
    'matrix_layout.wgsl',
    'naive_gemm.wgsl',
  );
}

export type { Projection };
