// Parameters of the MoE router and their validation, plus the per-call size uniforms every
// kernel module shares (SizeUniforms; grids and bind groups: src/gpu/program.ts).

/** What the router computes; the HF config keys it comes from are in the comments. */
export interface RouterParams {
  /** hidden_size */
  hidden: number;
  /** n_routed_experts / num_local_experts / num_experts */
  experts: number;
  /** num_experts_per_tok */
  topK: number;
  /** scoring_func: DeepSeek-V3 'sigmoid'; Mixtral / Qwen 'softmax'. */
  scoring: 'softmax' | 'sigmoid';
  /** n_group / topk_group; 1 / 1 when ungrouped. */
  nGroup: number;
  topkGroup: number;
  /** noaux_tc e_score_correction_bias: added to the scores for selection only. */
  hasBias: boolean;
  /** norm_topk_prob */
  normTopkProb: boolean;
  /** routed_scaling_factor (1 when the family has none); applied whether or not normTopkProb. */
  routedScalingFactor: number;
  /**
   * 'score-topk' (default): score every expert, then top-k. 'topk-softmax' (gpt-oss): top-k
   * over the raw logits, then the softmax over the k selected only (scoring 'softmax',
   * normTopkProb true, ungrouped, no bias: the same weights as softmax + top-k + renormalize).
   */
  routing?: 'score-topk' | 'topk-softmax';
}

export const MAX_TOP_K = 64;

function positiveInt(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) throw new Error(`router: ${name} must be a positive integer (got ${v})`);
}

/** Throws an Error naming the first unsupported or contradictory parameter. */
export function validateRouterParams(p: RouterParams): void {
  positiveInt('hidden', p.hidden);
  positiveInt('experts', p.experts);
  positiveInt('topK', p.topK);
  positiveInt('nGroup', p.nGroup);
  positiveInt('topkGroup', p.topkGroup);
  if (p.scoring !== 'softmax' && p.scoring !== 'sigmoid') {
    throw new Error(`router: scoring must be 'softmax' or 'sigmoid' (got '${String(p.scoring)}')`);
  }
  if (p.topK > MAX_TOP_K) throw new Error(`router: topK = ${p.topK} is above the supported maximum ${MAX_TOP_K}`);
  if (p.experts % p.nGroup !== 0)
    throw new Error(`router: nGroup = ${p.nGroup} does not divide experts = ${p.experts}`);
  if (p.topkGroup > p.nGroup) throw new Error(`router: topkGroup = ${p.topkGroup} is larger than nGroup = ${p.nGroup}`);
  const perGroup = p.experts / p.nGroup;
  if (p.topK > p.topkGroup * perGroup) {
    throw new Error(
      `router: topK = ${p.topK} is more than the ${p.topkGroup * perGroup} experts left by topkGroup = ${p.topkGroup} of nGroup = ${p.nGroup}`,
    );
  }
  if (p.hasBias && p.nGroup > 1 && perGroup < 2) {
    throw new Error(
      `router: nGroup = ${p.nGroup} leaves one expert per group, but the biased group score sums the top 2`,
    );
  }
  if (p.routing !== undefined && p.routing !== 'score-topk' && p.routing !== 'topk-softmax') {
    throw new Error(`router: routing must be 'score-topk' or 'topk-softmax' (got '${String(p.routing)}')`);
  }
  if (p.routing === 'topk-softmax') {
    const bad = [
      p.scoring !== 'softmax' && `scoring '${p.scoring}' (needs 'softmax')`,
      !p.normTopkProb && 'normTopkProb false (the k weights are a softmax: they sum to 1)',
      p.hasBias && 'a selection bias',
      p.nGroup > 1 && `nGroup = ${p.nGroup} (ungrouped only)`,
    ].filter(Boolean);
    if (bad.length > 0) throw new Error(`router: routing 'topk-softmax' does not take ${bad.join(', ')}`);
  }
  if (!Number.isFinite(p.routedScalingFactor)) {
    throw new Error(`router: routedScalingFactor must be finite (got ${p.routedScalingFactor})`);
  }
}

/** Distinct value sets a SizeUniforms keeps (token counts are unbounded): the least recently used past it is dropped. */
export const MAX_SIZE_UNIFORMS = 256;

/**
 * Uniform buffers holding one u32 per distinct value, created once and reused. Kernels
 * take their per-call size (`tokens`) from here instead of rewriting one uniform with
 * queue.writeBuffer, so several encodes with different sizes can share an encoder.
 *
 * At most `capacity` buffers are kept; a new set past it drops the least recently used one
 * from the cache WITHOUT destroying it. The hazard this guards: the dropped buffer may still
 * be bound in work recorded but not yet submitted (this cache cannot see submits), and
 * submitting a destroyed buffer is a validation error; a dropped buffer is reclaimed by the
 * garbage collector once nothing (no encoder, command buffer or cached bind group) holds it.
 * So no caller has to bound the sets it asks for between submits. `destroy()` destroys the
 * buffers still kept: call it when the kernel that owns the cache is destroyed.
 */
export class SizeUniforms {
  /** Least recently used first. */
  private readonly cache = new Map<string, GPUBuffer>();

  constructor(
    private readonly device: GPUDevice,
    private readonly label: string,
    private readonly capacity = MAX_SIZE_UNIFORMS,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new Error(`SizeUniforms '${label}': capacity must be a positive integer (got ${capacity})`);
  }

  get(...values: number[]): GPUBuffer {
    const key = values.join(',');
    let buf = this.cache.get(key);
    if (buf) {
      this.cache.delete(key); // re-inserted below: most recently used last
    } else {
      if (this.cache.size >= this.capacity) {
        // Dropped, not destroyed: unsubmitted work may still bind it (see above).
        this.cache.delete(this.cache.keys().next().value!);
      }
      const words = new Uint32Array(Math.max(4, Math.ceil(values.length / 4) * 4));
      words.set(values);
      buf = this.device.createBuffer({
        size: words.byteLength,
        usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
        label: `${this.label} sizes ${key}`,
        mappedAtCreation: true,
      });
      new Uint32Array(buf.getMappedRange()).set(words);
      buf.unmap();
    }
    this.cache.set(key, buf);
    return buf;
  }

  destroy(): void {
    for (const b of this.cache.values()) b.destroy();
    this.cache.clear();
  }
}

/**
 * A router configuration: how the logits are computed (fused: by the selection kernel itself,
 * else by the dense GEMM pass), how the selection runs ('tb': the threads of a workgroup
 * cooperate on each of its tokens in turn, router.wgsl; 'pt': one invocation per token,
 * router_per_token.wgsl) and tokens per selection workgroup. Written 'tb:N', 'fused:tb:N' or
 * 'pt:N' (the lab's and the tuning cache's variant names); 'pt' takes its logits from the
 * GEMM pass only.
 */
export interface RouterVariant {
  selection: 'tb' | 'pt';
  fused: boolean;
  tokensPerWorkgroup: number;
}

/** Tokens per workgroup of 'tb:N' (each a private accumulator of the fused logits step). */
export const MAX_TOKENS_PER_WORKGROUP = 16;
/** Invocations (= tokens) per workgroup of 'pt:N': WebGPU's default maxComputeInvocationsPerWorkgroup. */
export const MAX_PER_TOKEN_WORKGROUP = 256;

type RouterForm = Pick<RouterVariant, 'selection' | 'fused'>;

/**
 * The variant forms, written 'tb:N', 'fused:tb:N', 'pt:N' (N tokens per workgroup): the one
 * list the parser matches and names in its refusals, and the lab's and the page's variant help
 * list (`note`: shown after the form in the lab's help). A new form is a new row here (and its
 * kernel).
 */
export const ROUTER_VARIANT_FORMS: readonly (RouterForm & { note?: string })[] = [
  { selection: 'tb', fused: false },
  { selection: 'tb', fused: true },
  { selection: 'pt', fused: false, note: 'one invocation per token' },
];

const written = (f: RouterForm, n: number | 'N'): string => `${f.fused ? 'fused:' : ''}${f.selection}:${n}`;

export const routerVariantName = (v: RouterVariant): string => written(v, v.tokensPerWorkgroup);

/**
 * The forms quoted: "'tb:N', 'fused:tb:N' or 'pt:N'" (joined 'or') or "'tb:N' | 'fused:tb:N' | 'pt:N'"
 * (joined ' | '); with `notes`, each note in parentheses after its form.
 */
export function routerVariantForms(joined: 'or' | ' | ', notes = false): string {
  const quoted = ROUTER_VARIANT_FORMS.map((f) => `'${written(f, 'N')}'${notes && f.note ? ` (${f.note})` : ''}`);
  return joined === ' | ' ? quoted.join(' | ') : `${quoted.slice(0, -1).join(', ')} or ${quoted[quoted.length - 1]}`;
}

/**
 * Why variant `v` cannot route these parameters (a parse error, or 'pt:N' where the GEMM pass
 * cannot run: hidden not a multiple of 4), else undefined: what the tuning cache's and the
 * lab's variants are checked against before a kernel is made.
 */
export function routerVariantProblem(v: string, p: Pick<RouterParams, 'hidden'>): string | undefined {
  const r = parseRouterVariant(v);
  if (typeof r === 'string') return r;
  if (r.selection === 'pt' && p.hidden % 4 !== 0)
    return `'${v.trim()}' takes its logits from the GEMM pass, which needs hidden % 4 == 0 (hidden = ${p.hidden}; use 'fused:tb:N')`;
  return undefined;
}

/** 'tb:N', 'fused:tb:N' (N in 1..16) or 'pt:N' (N in 1..256), else an error message naming the valid forms. */
export function parseRouterVariant(v: string): RouterVariant | string {
  const m = /^(.*:)(\d+)$/.exec(v.trim());
  const n = m ? +m[2] : NaN;
  if (m?.[1] === 'fused:pt:') {
    // The proposed 'pt:N' is one the parser accepts (N brought within 1 .. MAX_PER_TOKEN_WORKGROUP).
    const pt = Math.min(Math.max(n, 1), MAX_PER_TOKEN_WORKGROUP);
    return `'${v.trim()}': the per-token selection takes its logits from the GEMM pass (use 'pt:${pt}', or 'fused:tb:N')`;
  }
  const form = m && ROUTER_VARIANT_FORMS.find((f) => written(f, 'N') === `${m[1]}N`);
  if (!form || !(n >= 1)) return `expected ${routerVariantForms('or')} with N a positive integer, got '${v}'`;
  const { selection, fused } = form;
  const max = selection === 'pt' ? MAX_PER_TOKEN_WORKGROUP : MAX_TOKENS_PER_WORKGROUP;
  if (n > max) return `'${v.trim()}': tokens per workgroup ${n} is above ${max} (use '${m[1]}${max}')`;
  return { selection, fused, tokensPerWorkgroup: n };
}
