// The word layout of one matrix (gate, up or down) inside a compressed expert block, as
// src/model/formats.ts MatrixLayout lays it out: what the naive GEMM (its GATE, UP and DOWN
// constants) and the unpack kernel (its uniform) both read. Composed before either kernel.

struct MatrixLayout {
  codes: u32,           // word offset of the codes in the block
  row_words: u32,       // code words per (padded) row
  scales: u32,          // word offset of the scales
  scale_row_words: u32, // nvfp4, mxfp4: scale words per row
  block_rows: u32,      // fp8 scale block and blocks per block-row
  block_cols: u32,
  blocks_per_row: u32,
  tensor_scale: u32,    // nvfp4: word offset of the f32 tensor scale
}
