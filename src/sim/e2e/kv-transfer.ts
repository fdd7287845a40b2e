// KV-cache transfer from a context server to a generation server.
//
// After prefill, the request's KV cache — ISL tokens × every layer's cached values (MLA: the
// kvLora latent + the RoPE key; GQA: K and V of the KV heads), in the KV-cache dtype (FP8 in the
// reproduction config) — moves to the generation GPU that will decode it. In the reproduction
// both pools sit in one NVL72 NVLink domain and the transfer goes through UCX
// (`cache_transceiver_config.backend: UCX`) over NVLink: one context GPU's egress to one
// generation GPU's ingress, at the link's per-direction bandwidth × efficiency.link, plus the
// link latency. Across NVLink domains (a deployment bigger than the domain) it would cross the
// scale-out network instead; the search keeps both pools within one domain.

import type { MoeConfig } from '../../model/config.ts';
import type { CostModel } from '../cost-model.ts';
import { kvBytesPerToken } from './generation.ts';

export interface KvTransfer {
  bytesPerToken: number;
  bytesPerRequest: number;
  /** Time of one request's transfer on an otherwise idle link, ms. */
  ms: number;
  link: string;
}

export function kvTransfer(cost: CostModel, model: MoeConfig, meanIsl: number, kvBytes: number): KvTransfer {
  const bytesPerToken = kvBytesPerToken(model, kvBytes);
  const bytesPerRequest = bytesPerToken * meanIsl;
  const gbps = cost.linkGBps * cost.efficiency.link;
  return {
    bytesPerToken,
    bytesPerRequest,
    ms: bytesPerRequest / (gbps * 1e6) + cost.profile.linkLatencyUs / 1000,
    link: `${cost.profile.name}: NVLink, ${cost.linkGBps} GB/s per direction × efficiency.link ${cost.efficiency.link}`,
  };
}
