// Hand-off to TensorRT-LLM: the configuration files a user needs to run a deployment the
// end-to-end model chose, in the layout of TensorRT-LLM's public DWDP reproduction
// (examples/dwdp/reproduce.py → examples/disaggregated/slurm/benchmark/submit_dwdp.py; field by
// field in docs/trtllm-dwdp-reference.md §6). Pure: it returns file names and texts; the CLI
// checks the output directory and writes them.
//
// Per band and strategy, in `tps-<lo>-<hi>/<dep|dwdp>/`:
//   ctx_config.yaml         the context server (`worker_config.ctx`), with `dwdp_config` for DWDP
//   gen_config.yaml         the generation server (`worker_config.gen`)
//   mpi_worker_config.yaml  the disaggregated launch (`trtllm-serve disaggregated_mpi_worker -c …`):
//                           both server configs with their instance counts and URLs
// and README.md at the top saying where every field came from.
//
// Before anything is built, a DWDP deployment is checked against the reference
// implementation's rules (modules/dwdp/setup.py `_validate_partition_config`,
// py_executor_creator.py; docs/trtllm-dwdp-reference.md §2): E = L + (N − 1)·P exactly,
// 0 < P ≤ L, dwdp_size > 1, one GPU per context worker (tensor_parallel_size 1),
// num_groups × dwdp_size context workers, NVFP4 experts (the CuTeDSL MoE backend DWDP needs).
// A violation throws an ExportError naming the field.

import { stringify } from 'yaml';
import type { MoeConfig } from '../model/config.ts';
import type { WeightFormat } from '../model/formats.ts';
import type { E2ePoint, E2eResult } from './e2e/scenario.ts';
import { cudaGraphBatchSizes } from './e2e/params.ts';

export class ExportError extends Error {
  override name = 'ExportError';
  constructor(
    readonly field: string,
    detail: string,
  ) {
    super(`export-trtllm: ${field}: ${detail}`);
  }
}

export interface DwdpConfigYaml {
  dwdp_size: number;
  num_groups: number;
  num_experts_per_worker: number;
  num_prefetch_experts: number;
  contention_opt: boolean;
}

/** The reference implementation's rules; throws naming the field. */
export function validateDwdpConfig(
  c: DwdpConfigYaml,
  o: { experts: number; ctxTensorParallel: number; ctxInstances: number; format: WeightFormat },
): void {
  const N = c.dwdp_size;
  const L = c.num_experts_per_worker;
  const P = c.num_prefetch_experts;
  if (!(Number.isInteger(N) && N > 1))
    throw new ExportError('dwdp_config.dwdp_size', `must be an integer > 1 (DWDP requires dwdp_size > 1), got ${N}`);
  if (!(Number.isInteger(c.num_groups) && c.num_groups >= 1))
    throw new ExportError('dwdp_config.num_groups', `must be a positive integer, got ${c.num_groups}`);
  if (!(Number.isInteger(L) && L > 0))
    throw new ExportError('dwdp_config.num_experts_per_worker', `must be a positive integer, got ${L}`);
  if (!(Number.isInteger(P) && P > 0))
    throw new ExportError('dwdp_config.num_prefetch_experts', `must be a positive integer, got ${P}`);
  if (P > L)
    throw new ExportError(
      'dwdp_config.num_prefetch_experts',
      `${P} exceeds num_experts_per_worker ${L} (a stride larger than the range leaves expert gaps)`,
    );
  if (L + (N - 1) * P !== o.experts) {
    const p = Math.floor(o.experts / N);
    throw new ExportError(
      'dwdp_config.num_experts_per_worker',
      `num_experts_per_worker + (dwdp_size − 1)·num_prefetch_experts = ${L} + ${N - 1}·${P} = ${L + (N - 1) * P}, ` +
        `must equal the ${o.experts} routed experts exactly; e.g. num_experts_per_worker ${o.experts - (N - 1) * p}, num_prefetch_experts ${p}`,
    );
  }
  if (o.ctxTensorParallel !== 1)
    throw new ExportError(
      'tensor_parallel_size',
      `a DWDP context worker is one GPU (tensor_parallel_size 1), got ${o.ctxTensorParallel}`,
    );
  if (o.ctxInstances !== c.num_groups * N)
    throw new ExportError(
      'context_servers.num_instances',
      `${o.ctxInstances} context workers, but num_groups × dwdp_size = ${c.num_groups * N}`,
    );
  if (o.format !== 'nvfp4')
    throw new ExportError('moe weights', `DWDP's CuTeDSL MoE backend takes NVFP4 experts only, got ${o.format}`);
}

export interface ExportFile {
  path: string;
  text: string;
}

export interface ExportOptions {
  /** Model checkpoint path or HF id written into the launch config. */
  modelPath?: string;
}

function speculative(mtp: number) {
  return mtp > 0 ? { speculative_config: { decoding_type: 'MTP', num_nextn_predict_layers: mtp } } : {};
}

function deploymentFiles(res: E2eResult, model: MoeConfig, pt: E2ePoint, o: ExportOptions) {
  const p = res.params;
  const c = pt.config;
  const isDwdp = c.strategy === 'dwdp';
  const ctxSeq = p.isl + 1024;
  const transceiver = { backend: 'UCX', max_tokens_in_buffer: Math.ceil(ctxSeq / 64) * 64 };
  let dwdp: DwdpConfigYaml | undefined;
  const ctxTp = isDwdp ? 1 : c.groupSize;
  const ctxInstances = isDwdp ? c.ctxUnits * c.groupSize : c.ctxUnits;
  if (isDwdp) {
    const curve = res.context.dwdp;
    dwdp = {
      dwdp_size: c.groupSize,
      num_groups: c.ctxUnits,
      num_experts_per_worker: curve.dwdpLocal,
      num_prefetch_experts: curve.dwdpPull,
      contention_opt: p.contentionFix,
    };
    validateDwdpConfig(dwdp, { experts: model.experts, ctxTensorParallel: ctxTp, ctxInstances, format: p.format });
  }
  const g = c.gen;
  const ctx = {
    max_batch_size: p.ctxMaxBatch,
    max_num_tokens: p.ctxMaxTokens,
    max_seq_len: ctxSeq,
    tensor_parallel_size: ctxTp,
    moe_expert_parallel_size: ctxTp,
    enable_attention_dp: true,
    pipeline_parallel_size: 1,
    context_parallel_size: 1,
    cuda_graph_config: null,
    disable_overlap_scheduler: true,
    kv_cache_config: { enable_block_reuse: false, dtype: 'fp8', free_gpu_memory_fraction: 0.3 },
    cache_transceiver_config: transceiver,
    moe_config: { backend: 'CUTEDSL' },
    print_iter_log: true,
    trust_remote_code: true,
    ...speculative(g.mtp),
    ...(dwdp ? { dwdp_config: dwdp } : {}),
  };
  const genTokens = g.batch * (1 + g.mtp);
  const gen = {
    tensor_parallel_size: g.ep,
    moe_expert_parallel_size: g.ep,
    enable_attention_dp: true,
    enable_lm_head_tp_in_adp: true,
    pipeline_parallel_size: 1,
    context_parallel_size: 1,
    max_batch_size: g.batch,
    max_num_tokens: genTokens,
    max_seq_len: p.isl + 1024 + p.osl,
    cuda_graph_config: { enable_padding: true, batch_sizes: cudaGraphBatchSizes(genTokens) },
    kv_cache_config: { enable_block_reuse: false, dtype: 'fp8', free_gpu_memory_fraction: 0.75 },
    moe_config: {
      backend: 'CUTEDSL',
      ...(g.eplb ? { load_balancer: { num_slots: model.experts, layer_updates_per_iter: 1 } } : {}),
    },
    cache_transceiver_config: transceiver,
    stream_interval: 100,
    num_postprocess_workers: 4,
    print_iter_log: true,
    trust_remote_code: true,
    ...speculative(g.mtp),
  };
  const launch = {
    model: o.modelPath ?? `<path of the ${res.model} checkpoint (NVFP4)>`,
    hostname: 'localhost',
    port: 8000,
    backend: 'pytorch',
    max_retries: 100,
    context_servers: {
      num_instances: ctxInstances,
      urls: Array.from({ length: ctxInstances }, (_, i) => `localhost:${8001 + i}`),
      ...ctx,
    },
    generation_servers: { num_instances: 1, urls: [`localhost:${8001 + ctxInstances}`], ...gen },
  };
  return { ctx, gen, launch, ctxInstances };
}

const header = (res: E2eResult, pt: E2ePoint, what: string) =>
  `# ${what} — written by npm run sim -- --scenario ${res.scenario} --export-trtllm\n` +
  `# modeled point: ${pt.tpsPerUser.toFixed(1)} TPS/user, ${pt.tpsPerGpu.toFixed(0)} output TPS/GPU, ` +
  `${pt.ctxGpus} context + ${pt.genGpus} generation GPUs (${res.profile.id}; MODELED, not measured)\n`;

/** Every file of the hand-off for the chosen deployment of each band and strategy. Throws ExportError before building anything invalid. */
export function buildTrtllmExport(res: E2eResult, model: MoeConfig, o: ExportOptions = {}): ExportFile[] {
  const files: ExportFile[] = [];
  const chosen: { dir: string; pt: E2ePoint; instances: number }[] = [];
  for (const b of res.bands) {
    for (const s of ['dep', 'dwdp'] as const) {
      const pt = b[s];
      if (!pt) continue;
      const dir = `tps-${b.tpsPerUser[0]}-${b.tpsPerUser[1]}/${s}`;
      const d = deploymentFiles(res, model, pt, o);
      files.push({ path: `${dir}/ctx_config.yaml`, text: header(res, pt, 'context server') + stringify(d.ctx) });
      files.push({ path: `${dir}/gen_config.yaml`, text: header(res, pt, 'generation server') + stringify(d.gen) });
      files.push({
        path: `${dir}/mpi_worker_config.yaml`,
        text:
          header(res, pt, 'disaggregated launch (trtllm-serve disaggregated_mpi_worker -c this file)') +
          stringify(d.launch),
      });
      chosen.push({ dir, pt, instances: d.ctxInstances });
    }
  }
  if (chosen.length === 0) throw new ExportError('bands', 'no band has a modeled deployment to export');
  files.unshift({ path: 'README.md', text: readme(res, model, chosen) });
  return files;
}

function readme(res: E2eResult, model: MoeConfig, chosen: { dir: string; pt: E2ePoint; instances: number }[]): string {
  const p = res.params;
  const rows = chosen.map(({ dir, pt, instances }) => {
    const g = pt.config.gen;
    const tp = pt.config.strategy === 'dwdp' ? 1 : pt.config.groupSize;
    return (
      `| \`${dir}\` | ${pt.tpsPerUser.toFixed(1)} | ${pt.tpsPerGpu.toFixed(0)} | ${instances} × TP${tp} ` +
      `(${pt.ctxGpus} GPUs) | EP${g.ep}, batch ${g.batch}, MTP ${g.mtp}, EPLB ${g.eplb ? 'on' : 'off'} ` +
      `| ${pt.config.concurrency} | ${pt.ttftMedianMs.toFixed(0)} |`
    );
  });
  return `# TensorRT-LLM configurations for scenario ${res.scenario}

Written by \`npm run sim -- --scenario ${res.scenario} --export-trtllm DIR\`. The deployments are the
ones the end-to-end model chose per TPS/user band; every performance number here is **MODELED**
(${res.provenance}), not measured. Run them to measure.

Model ${res.model} (${model.experts} routed experts), ${res.profile.name}; ISL ${p.isl}, OSL ${p.osl},
input ratio ${p.inputRatio}.

| directory | TPS/user | TPS/GPU | context servers | generation server | concurrency | TTFT ms |
| --- | ---: | ---: | --- | --- | ---: | ---: |
${rows.join('\n')}

Each directory holds \`ctx_config.yaml\` (context server), \`gen_config.yaml\` (generation server) and
\`mpi_worker_config.yaml\` (the disaggregated launch: both configs with instance counts and URLs,
for \`trtllm-serve disaggregated_mpi_worker -c mpi_worker_config.yaml\` under one MPI launch, as
\`submit_dwdp.py\` does). Replace \`model\` and the \`urls\` with your checkpoint and hosts.

## Where each field comes from

- **From the model's choice** (this scenario): \`dwdp_config.num_groups\` (DWDP groups) or the
  number of DEP context servers (\`context_servers.num_instances\`); the generation server's
  \`tensor_parallel_size\` = \`moe_expert_parallel_size\` (EP), \`max_batch_size\`, the MTP depth
  (\`speculative_config.num_nextn_predict_layers\`) and EPLB (\`moe_config.load_balancer\`).
- **From the scenario's parameters**: context \`max_batch_size\` (${p.ctxMaxBatch}) and
  \`max_num_tokens\` (${p.ctxMaxTokens}); \`dwdp_config.dwdp_size\` (group size ${p.groupSize});
  \`num_experts_per_worker\` / \`num_prefetch_experts\` (the placement's L and P:
  ${res.context.dwdp.dwdpLocal} / ${res.context.dwdp.dwdpPull}, checked against
  E = L + (N − 1)·P, 0 < P ≤ L); \`contention_opt\` (${p.contentionFix}; the published runs had it off).
- **Derived as TensorRT-LLM's reproduction generator does** (examples/dwdp/reproduce.py):
  generation \`max_num_tokens\` = batch × (1 + MTP); \`max_seq_len\` = ISL + 1024 (context) and
  ISL + 1024 + OSL (generation); \`cache_transceiver_config.max_tokens_in_buffer\` = context
  max_seq_len rounded up to 64; CUDA graph \`batch_sizes\` 1, 2, 4, 8 … in steps of 8 up to
  max_num_tokens; EPLB \`num_slots\` = routed experts with \`layer_updates_per_iter\` 1; benchmark
  concurrency = batch × EP.
- **Fixed as in the reproduction** (the DWDP code path's constraints and its defaults):
  \`moe_config.backend\` CUTEDSL (NVFP4 only), \`kv_cache_config.dtype\` fp8, block reuse off,
  \`free_gpu_memory_fraction\` 0.3 (context) / 0.75 (generation), attention DP on, context
  \`disable_overlap_scheduler\` true and \`cuda_graph_config\` null, one GPU per DWDP context
  worker, \`cache_transceiver_config.backend\` UCX, \`stream_interval\` 100,
  \`num_postprocess_workers\` 4.

Launch notes from the reproduction (\`start_worker_dwdp.sh\`): every rank sees all GPUs (do not
restrict \`CUDA_VISIBLE_DEVICES\` to one GPU: the fabric-handle imports and UCX need peer
visibility); DWDP groups are consecutive context ranks; bind memory with \`numactl -m 0,1\` on
GB200 trays.
`;
}

/** The `format` of a one-file bundle of the hand-off (the page's download). */
export const TRTLLM_BUNDLE_FORMAT = 'webgpu-dwdp/trtllm-export-bundle/1';

/**
 * The hand-off as one JSON document (what the page downloads): the same files
 * `--export-trtllm DIR` writes, each as its path under DIR and its text.
 */
export interface TrtllmBundle {
  format: typeof TRTLLM_BUNDLE_FORMAT;
  scenario: string;
  modeled: true;
  provenance: string;
  /** How to turn the bundle into the folder `--export-trtllm DIR` writes. */
  unpack: string;
  files: ExportFile[];
}

/** A shell command (Node only) that writes a bundle's files into DIR: the folder `--export-trtllm DIR` writes. */
export const TRTLLM_UNPACK =
  `node -e "const fs=require('fs'),p=require('path'),[f,d]=process.argv.slice(1);` +
  `for(const x of JSON.parse(fs.readFileSync(f,'utf8')).files){const o=p.join(d,x.path);` +
  `fs.mkdirSync(p.dirname(o),{recursive:true});fs.writeFileSync(o,x.text,{flag:'wx'})}" BUNDLE.json DIR`;

export function trtllmBundle(res: Pick<E2eResult, 'scenario' | 'provenance'>, files: ExportFile[]): TrtllmBundle {
  return {
    format: TRTLLM_BUNDLE_FORMAT,
    scenario: res.scenario,
    modeled: true,
    provenance: res.provenance,
    unpack: TRTLLM_UNPACK,
    files,
  };
}
