// One way to get a GPUDevice, in the browser (navigator.gpu) or in Node (Dawn via the
// `webgpu` package, on SwiftShader when the machine has no other Vulkan driver).
import { DeviceLostError, LimitExceededError, WebGpuUnavailableError } from './errors.ts';

/** What a caller needs from the device beyond WebGPU's defaults, with the reason (for messages). */
export interface LimitNeed {
  limit: keyof GPUSupportedLimits & string;
  value: number;
  why: string;
}

export interface GpuOptions {
  /** Limits the work needs; the device asks for exactly these when above the defaults. */
  needs?: LimitNeed[];
  powerPreference?: GPUPowerPreference;
  label?: string;
}

export interface AdapterDescription {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** 'node' (Dawn) or 'browser'. */
  host: 'node' | 'browser';
  /** True when the adapter is a CPU implementation (SwiftShader): timings are emulation speeds. */
  software: boolean;
}

/** One GPUSubgroupMatrixConfig: left M×K, right K×N, result M×N, by component type. */
export interface SubgroupMatrixConfig {
  m: number;
  n: number;
  k: number;
  componentType: string;
  resultComponentType: string;
}

/** The WebGPU feature behind subgroup matrices (experimental in Dawn: exposed with allow_unsafe_apis). */
export const SUBGROUP_MATRIX_FEATURE = 'chromium-experimental-subgroup-matrix';

export interface Gpu {
  device: GPUDevice;
  adapter: GPUAdapter;
  info: AdapterDescription;
  /** timestamp-query available (else timers fall back to host time). */
  timestamps: boolean;
  subgroups: boolean;
  /** shader-f16 available (WGSL `enable f16;`): f16 operands in kernels that offer them. */
  f16: boolean;
  /**
   * The subgroup-matrix shapes the device offers (Dawn's chromium-experimental-subgroup-matrix,
   * adapter.info.subgroupMatrixConfigs); empty where the feature is absent.
   */
  subgroupMatrixConfigs: readonly SubgroupMatrixConfig[];
  /** Resolves when the device is lost; never rejects. */
  lost: Promise<GPUDeviceLostInfo>;
  /** Set once the device is lost. */
  lostInfo: GPUDeviceLostInfo | undefined;
  /** Races a GPU promise against device loss, so a lost device never hangs a caller. */
  guard<T>(p: Promise<T>): Promise<T>;
  destroy(): void;
}

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

/**
 * Whether the machine has a GPU the system Vulkan drivers can use. Hardware ICDs (mesa's
 * intel/radeon) are often installed on GPU-less machines, so look for device nodes, not
 * for driver files; DWDP_VULKAN=system|swiftshader overrides the guess.
 */
function hasGpuHardware(fs: typeof import('node:fs')): boolean {
  const forced = process.env.DWDP_VULKAN;
  if (forced === 'system') return true;
  if (forced === 'swiftshader') return false;
  if (fs.existsSync('/dev/nvidia0') || fs.existsSync('/dev/nvidiactl')) return true;
  try {
    return fs.readdirSync('/dev/dri').some((f) => f.startsWith('renderD'));
  } catch {
    return false;
  }
}

let nodeGpu: Promise<GPU> | undefined;

const isNode = typeof process !== 'undefined' && !!process.versions?.node && typeof window === 'undefined';

/** Dawn in Node. Imported by a computed name so browser bundles never see it. */
async function getNodeGpu(): Promise<GPU> {
  nodeGpu ??= (async () => {
    const fs = await import('node:fs');
    const env = process.env;
    // Respect a driver the user (or the machine) configured; otherwise fall back to
    // the CPU Vulkan driver shipped with Debian's chromium package.
    if (!env.VK_ICD_FILENAMES && !env.VK_DRIVER_FILES && !hasGpuHardware(fs)) {
      if (!fs.existsSync(SWIFTSHADER_ICD)) {
        throw new WebGpuUnavailableError(
          `no GPU and no SwiftShader at ${SWIFTSHADER_ICD}. ` +
            'On Debian/Ubuntu: apt-get install -y chromium libvulkan1 (or set VK_ICD_FILENAMES to a Vulkan ICD json).',
        );
      }
      env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
      // SwiftShader probes for a Wayland display and complains on stderr when XDG_RUNTIME_DIR
      // is unset (headless machines); any directory silences the probe, which finds nothing.
      env.XDG_RUNTIME_DIR ??= (await import('node:os')).tmpdir();
    }
    const name = 'webgpu';
    const mod = (await import(/* @vite-ignore */ name)) as { create(o: string[]): GPU; globals: object };
    // The WebGPU enums/classes (GPUBufferUsage, …) are globals in browsers; make them so here.
    Object.assign(globalThis, mod.globals);
    // disable_workgroup_init: Dawn zero-fills workgroup memory at every dispatch, which on
    // SwiftShader makes pipelines compile ~20× slower; no kernel here reads workgroup memory
    // before writing it (each is tested against its reference, so one that did would fail).
    // timestamp_quantization: Dawn rounds timestamps to ~65 µs by default; we want raw ones.
    // allow_unsafe_apis: Dawn exposes experimental features (chromium-experimental-subgroup-matrix)
    // only with it; nothing here is requested unless a kernel asks for it.
    return mod.create([
      'disable-dawn-features=timestamp_quantization',
      'enable-dawn-features=disable_workgroup_init,allow_unsafe_apis',
    ]);
  })();
  return nodeGpu;
}

async function getGpuEntry(): Promise<GPU> {
  if (typeof navigator !== 'undefined' && (navigator as Navigator).gpu && !isNode) {
    return (navigator as Navigator).gpu;
  }
  if (isNode) return getNodeGpu();
  throw new WebGpuUnavailableError(
    'this browser has no WebGPU (navigator.gpu is missing). Use a recent Chrome/Chromium/Edge; ' +
      'on Linux start it with --enable-unsafe-webgpu (add --use-webgpu-adapter=swiftshader on a machine without a GPU).',
  );
}

function describe(adapter: GPUAdapter): AdapterDescription {
  const i = adapter.info;
  const text = `${i.vendor} ${i.architecture} ${i.device} ${i.description}`.toLowerCase();
  return {
    vendor: i.vendor,
    architecture: i.architecture,
    device: i.device,
    description: i.description || `${i.vendor} ${i.architecture}`.trim() || 'unknown adapter',
    host: isNode ? 'node' : 'browser',
    software: text.includes('swiftshader') || (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter === true,
  };
}

/** Checks every need against the adapter and builds requiredLimits; throws naming the first limit exceeded. */
export function resolveLimits(supported: GPUSupportedLimits, needs: LimitNeed[]): Record<string, number> {
  const required: Record<string, number> = {};
  for (const n of needs) {
    const allowed = supported[n.limit] as number;
    if (typeof allowed !== 'number') throw new Error(`unknown WebGPU limit '${n.limit}'`);
    if (n.value > allowed) throw new LimitExceededError(n.limit, n.value, allowed, n.why);
    required[n.limit] = Math.max(required[n.limit] ?? 0, n.value);
  }
  return required;
}

/** Limits worth raising to the adapter's maximum whenever available: buffer sizes and binding counts. */
const GENEROUS_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
] as const;

export async function getGpu(options: GpuOptions = {}): Promise<Gpu> {
  const entry = await getGpuEntry();
  const adapter = await entry.requestAdapter({ powerPreference: options.powerPreference ?? 'high-performance' });
  if (!adapter) {
    throw new WebGpuUnavailableError(
      isNode
        ? 'no WebGPU adapter: Vulkan found no usable driver (is libvulkan1 installed? apt-get install -y libvulkan1 chromium)'
        : 'the browser returned no WebGPU adapter (enable WebGPU, or start Chromium with --enable-unsafe-webgpu --use-webgpu-adapter=swiftshader)',
    );
  }
  const required = resolveLimits(adapter.limits, options.needs ?? []);
  // Ask for the adapter's maximum of the limits we routinely push; costs nothing, avoids surprises.
  for (const l of GENEROUS_LIMITS) required[l] = Math.max(required[l] ?? 0, adapter.limits[l]);
  const wanted = ['timestamp-query', 'subgroups', 'shader-f16', SUBGROUP_MATRIX_FEATURE] as GPUFeatureName[];
  const requiredFeatures = wanted.filter((f) => adapter.features.has(f));
  const device = await adapter.requestDevice({ requiredFeatures, requiredLimits: required, label: options.label });

  let lostInfo: GPUDeviceLostInfo | undefined;
  const lost = device.lost.then((info) => {
    lostInfo = info;
    return info;
  });
  const lostError = lost.then((info): never => {
    throw new DeviceLostError(info.reason, info.message);
  });
  // A lost device would otherwise surface as an unhandled rejection of lostError.
  lostError.catch(() => {});
  const gpu: Gpu = {
    device,
    adapter,
    info: describe(adapter),
    timestamps: device.features.has('timestamp-query'),
    subgroups: device.features.has('subgroups'),
    f16: device.features.has('shader-f16'),
    subgroupMatrixConfigs: device.features.has(SUBGROUP_MATRIX_FEATURE) ? matrixConfigs(adapter) : [],
    lost,
    get lostInfo() {
      return lostInfo;
    },
    guard<T>(p: Promise<T>): Promise<T> {
      if (lostInfo) {
        p.catch(() => {}); // its own rejection (AbortError) says less than ours
        return Promise.reject(new DeviceLostError(lostInfo.reason, lostInfo.message));
      }
      return Promise.race([p, lostError]);
    },
    destroy() {
      device.destroy();
    },
  };
  return gpu;
}

function matrixConfigs(adapter: GPUAdapter): SubgroupMatrixConfig[] {
  type Raw = { M: number; N: number; K: number; componentType: string; resultComponentType: string };
  const raw = (adapter.info as GPUAdapterInfo & { subgroupMatrixConfigs?: Iterable<Raw> }).subgroupMatrixConfigs;
  return [...(raw ?? [])].map((c) => ({
    m: c.M,
    n: c.N,
    k: c.K,
    componentType: c.componentType,
    resultComponentType: c.resultComponentType,
  }));
}

/** Short one-line description of an adapter for tables and JSON ("measured on …"). */
export function adapterLabel(info: AdapterDescription): string {
  return `${info.description}${info.software ? ' (CPU-emulated)' : ''} via ${info.host === 'node' ? 'Dawn/Node' : 'browser'}`;
}
