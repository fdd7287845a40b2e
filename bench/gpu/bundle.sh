#!/usr/bin/env bash
# Packs what a GPU machine without Node, browser or registry needs to measure the kernels
# (shared/DESIGN.md §3): Node's binary (xz), dawn.node with the webgpu package's loader, the
# lab CLI and bench:kernels (with the tfjs-backend-webgpu peer it compares against) bundled
# into one file each, the Vulkan loader .debs when they can be downloaded here, and
# run-on-gpu.sh. Output: dist/gpu-bundle.tar (must stay under 64 MiB).
# The tuning cache: both bundles contain its Node file store (their entries import
# tuning-store-node.ts, which registers itself; test/tuning-store-bundle.test.ts guards that),
# so a bundled sweep records its winner and later bundled runs use it. Its file is
# DWDP_TUNING_CACHE (run-on-gpu.sh sets results/tuning.json), else .cache/webgpu-dwdp/tuning.json
# under the bundle's root, which the package.json written below marks as the project root.
# Checked by hand on SwiftShader (docs/expert-gemm.md, real-GPU section):
#   DWDP_TUNING_CACHE=$tmp/tuning.json ./node bundle/cli/lab.mjs expert-gemm <tiny shape> --sweep
#   then the same without --sweep: its JSON says "variantSource":"tuned".
#   bash bench/gpu/bundle.sh [out-dir]     (default dist/gpu-bundle)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="${1:-$root/dist/gpu-bundle}"
rm -rf "$out" && mkdir -p "$out/bundle/cli" "$out/bundle/bench" "$out/node_modules/webgpu/dist/linux-x64" "$out/debs"
cd "$root"
npx esbuild src/cli/lab.ts --bundle --platform=node --format=esm --outfile="$out/bundle/cli/lab.mjs" \
  --external:webgpu --log-level=warning
# tfjs-core's Node build calls require('util'): an ESM bundle has no require, so give it one.
npx esbuild bench/kernels.ts --bundle --platform=node --format=esm --outfile="$out/bundle/bench/kernels.mjs" \
  --external:webgpu --log-level=warning \
  --banner:js="import { createRequire as bundleRequire } from 'node:module'; const require = bundleRequire(import.meta.url);"
# Outside Vite the lab and the bench read shaders/*.wgsl from ../../shaders of their module:
# bundle/cli/ and bundle/bench/ → shaders/.
cp -r shaders "$out/shaders"
cp node_modules/webgpu/index.js node_modules/webgpu/package.json "$out/node_modules/webgpu/"
cp node_modules/webgpu/dist/linux-x64/dawn.node "$out/node_modules/webgpu/dist/linux-x64/"
xz -T0 -c "$(command -v node)" > "$out/node.xz"
# The Vulkan loader, for machines without libvulkan.so.1 (skipped where apt cannot download).
(cd "$out/debs" && apt-get download libvulkan1 >/dev/null 2>&1) || echo "note: no libvulkan1 .deb packed (apt-get download failed)"
cp bench/gpu/run-on-gpu.sh "$out/"
echo '{ "name": "webgpu-dwdp-gpu-bundle", "private": true }' > "$out/package.json"
tar -C "$(dirname "$out")" -cf "$out.tar" "$(basename "$out")"
size=$(stat -c %s "$out.tar")
echo "wrote $out.tar ($((size / 1048576)) MiB)"
if [ "$size" -gt $((64 * 1048576)) ]; then echo "error: over 64 MiB" >&2; exit 1; fi
