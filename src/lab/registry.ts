// Every lab kernel by name.
import { attentionLab } from './kernels/attention.ts';
import { combineLab } from './kernels/combine.ts';
import { copyLab } from './kernels/copy.ts';
import { decodeLab } from './kernels/decode.ts';
import { expertGemmLab } from './kernels/expert-gemm.ts';
import { peakLab } from './kernels/peak.ts';
import { permuteLab } from './kernels/permute.ts';
import { routerLab } from './kernels/router.ts';
import { LAB_KERNELS, type LabKernel, type LabKernelName } from './types.ts';

export const LAB_REGISTRY: Readonly<Record<LabKernelName, LabKernel<never>>> = {
  router: routerLab,
  permute: permuteLab,
  'expert-gemm': expertGemmLab,
  combine: combineLab,
  attention: attentionLab,
  decode: decodeLab,
  peak: peakLab,
  copy: copyLab,
} as Record<LabKernelName, LabKernel<never>>;

export function labKernel(name: string): LabKernel<never> {
  if (!(LAB_KERNELS as readonly string[]).includes(name))
    throw new Error(`unknown lab kernel '${name}' (kernels: ${LAB_KERNELS.join(', ')})`);
  return LAB_REGISTRY[name as LabKernelName];
}
