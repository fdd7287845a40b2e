// Grouped expert GEMM: the part every variant shares (tiled, subgroup-tiled, naive).
//
// Rows are the T·K (token, slot) pairs in expert-sorted order: rows offsets[e] ..
// offsets[e+1] belong to expert e, and sorted row i reads token perm[i] / top_k.
// gate_up:  h[i, :] = silu(Wg[e] · x[token(i)]) ⊙ (Wu[e] · x[token(i)])     h [T·K, F]
// down:     y[i, :] = Wd[e] · h[i, :]                                       y [T·K, H]
// Weights are the compressed expert blocks of src/model/formats.ts, read in place from one
// binding at per-expert offsets (a DWDP rank: its resident section and its prefetch slot,
// regions of one buffer): expert_table[e] = word offset of expert e's block in the binding.
//
// Work split without a host readback: a workgroup owns one row tile (TILE_ROWS rows of
// ONE expert) × one column tile. Expert e's tiles start at slot
//     first_slot(e) = floor(offsets[e] / TILE_ROWS) + e,
// which is monotone in e and leaves each expert at least ceil(count / TILE_ROWS) slots,
// so floor(T·K / TILE_ROWS) + E slots cover every tile whatever the routing; a workgroup
// finds its expert by binary search and leaves at once when its tile is empty (empty
// experts cost one such workgroup per column tile).
//
// The including program defines EXPERTS and TILE_ROWS (generated constants) and the
// input_rows / output_rows / weights bindings (1, 5, 6), whose element types vary.

struct Params {
  rows: u32,        // T·K sorted rows (this call)
  top_k: u32,
  has_perm: u32,    // 0: identity (sorted row i reads token i / top_k)
  has_offsets: u32, // 0: one expert (0) owns every row
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read> perm: array<u32>;
@group(0) @binding(3) var<storage, read> offsets: array<u32>;
@group(0) @binding(4) var<storage, read> expert_table: array<u32>; // word offset of each expert's block

// First sorted row of expert e (e = EXPERTS gives the total row count).
fn expert_begin(e: u32) -> u32 {
  if (params.has_offsets != 0u) {
    return offsets[e];
  }
  return select(params.rows, 0u, e == 0u);
}

fn first_slot(e: u32) -> u32 {
  return expert_begin(e) / TILE_ROWS + e;
}

struct RowTile {
  expert: u32,
  begin: u32, // rows [begin, end) of the tile; empty when begin >= end
  end: u32,
}

fn row_tile(slot: u32) -> RowTile {
  // Largest e with first_slot(e) <= slot (first_slot(0) = 0).
  var lo = 0u;
  var hi = EXPERTS;
  while (hi - lo > 1u) {
    let mid = (lo + hi) / 2u;
    if (first_slot(mid) <= slot) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  let begin = expert_begin(lo) + (slot - first_slot(lo)) * TILE_ROWS;
  return RowTile(lo, begin, min(expert_begin(lo + 1u), begin + TILE_ROWS));
}

// The expert owning sorted row `row` (for one-thread-per-output kernels).
fn expert_of_row(row: u32) -> u32 {
  var lo = 0u;
  var hi = EXPERTS;
  while (hi - lo > 1u) {
    let mid = (lo + hi) / 2u;
    if (expert_begin(mid) <= row) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  return lo;
}

fn token_of(row: u32) -> u32 {
  if (params.has_perm != 0u) {
    return perm[row] / params.top_k;
  }
  return row / params.top_k;
}

fn silu(g: f32) -> f32 {
  return g / (1.0 + exp(-g));
}
