// NumPy .npy encoding and decoding (format 1.0; 2.0/3.0 read too), little-endian, C order.
// https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
//
// Layout: magic "\x93NUMPY", major, minor, header length (uint16 LE in 1.0, uint32 in 2.0+),
// then an ASCII Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (T, H), }
// padded with spaces and ended by '\n' so the data starts on a 64-byte boundary. The header is
// written exactly as numpy.save writes it (including its spare spaces for growing the first
// axis in place), so our files are byte-identical to numpy's.
// Pure: no node: imports (the browser can offer the bytes as downloads). See npy-node.ts.

export type NpyDtype = '<f4' | '<i4' | '<u4' | '|u1' | '<f8';
export type NpyArray = Float32Array | Int32Array | Uint32Array | Uint8Array | Float64Array;

export interface Npy {
  dtype: NpyDtype;
  shape: number[];
  data: NpyArray;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const ALIGN = 64;
const GROWTH_AXIS_MAX_DIGITS = 21; // numpy's spare room for the first axis' length

const DTYPES: Record<NpyDtype, { bytes: number; make: (buf: ArrayBuffer, n: number) => NpyArray }> = {
  '<f4': { bytes: 4, make: (b, n) => new Float32Array(b, 0, n) },
  '<i4': { bytes: 4, make: (b, n) => new Int32Array(b, 0, n) },
  '<u4': { bytes: 4, make: (b, n) => new Uint32Array(b, 0, n) },
  '|u1': { bytes: 1, make: (b, n) => new Uint8Array(b, 0, n) },
  '<f8': { bytes: 8, make: (b, n) => new Float64Array(b, 0, n) },
};

function dtypeOf(array: NpyArray): NpyDtype {
  if (array instanceof Float32Array) return '<f4';
  if (array instanceof Int32Array) return '<i4';
  if (array instanceof Uint32Array) return '<u4';
  if (array instanceof Uint8Array) return '|u1';
  if (array instanceof Float64Array) return '<f8';
  throw new TypeError('npy: unsupported array type');
}

/** The .npy bytes of `array` with `shape` (C order; [] is a 0-d array of one element). */
export function encodeNpy(array: NpyArray, shape: readonly number[]): Uint8Array {
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0)
      throw new RangeError(`npy: bad dimension ${d} in shape [${shape.join(', ')}]`);
  }
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== array.length)
    throw new RangeError(`npy: shape [${shape.join(', ')}] holds ${count} elements, the array has ${array.length}`);
  const descr = dtypeOf(array);

  const tuple = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${tuple}, }`;
  if (shape.length > 0) dict += ' '.repeat(Math.max(0, GROWTH_AXIS_MAX_DIGITS - String(shape[0]).length));

  // Version 1.0 unless the header outgrows its uint16 length (then 2.0, uint32).
  let version = 1;
  let prefix = 10;
  let hlen = dict.length + 1; // + '\n'
  let pad = ALIGN - ((prefix + hlen) % ALIGN);
  if (hlen + pad > 0xffff) {
    version = 2;
    prefix = 12;
    pad = ALIGN - ((prefix + hlen) % ALIGN);
  }
  hlen += pad;

  const header = new Uint8Array(prefix + hlen);
  header.set(MAGIC, 0);
  header[6] = version;
  header[7] = 0;
  const view = new DataView(header.buffer);
  if (version === 1) view.setUint16(8, hlen, true);
  else view.setUint32(8, hlen, true);
  const text = dict + ' '.repeat(pad) + '\n';
  for (let i = 0; i < text.length; i++) header[prefix + i] = text.charCodeAt(i);

  const out = new Uint8Array(header.length + array.byteLength);
  out.set(header, 0);
  out.set(new Uint8Array(array.buffer, array.byteOffset, array.byteLength), header.length);
  if (!littleEndianHost()) swapInPlace(out.subarray(header.length), DTYPES[descr].bytes);
  return out;
}

/** Parse .npy bytes written by numpy or encodeNpy. Copies the data (any input alignment). */
export function decodeNpy(bytes: Uint8Array): Npy {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) throw new Error('npy: not a .npy file (bad magic)');
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let prefix: number;
  let hlen: number;
  if (major === 1) {
    prefix = 10;
    hlen = view.getUint16(8, true);
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw new Error('npy: truncated header');
    prefix = 12;
    hlen = view.getUint32(8, true);
  } else {
    throw new Error(`npy: unsupported format version ${major}.${bytes[7]}`);
  }
  if (prefix + hlen > bytes.length) throw new Error('npy: truncated header');
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(prefix, prefix + hlen));

  const descr = /'descr'\s*:\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined)
    throw new Error(`npy: cannot parse header ${JSON.stringify(header.trim())}`);
  if (fortran === 'True') throw new Error('npy: fortran_order arrays are not supported (save a C-contiguous array)');
  const dtype = (descr === '<u1' ? '|u1' : descr) as NpyDtype;
  const info = DTYPES[dtype];
  if (!info) throw new Error(`npy: unsupported dtype '${descr}' (supported: ${Object.keys(DTYPES).join(' ')})`);
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => {
      const d = Number(s.replace(/L$/, ''));
      if (!Number.isSafeInteger(d) || d < 0) throw new Error(`npy: bad shape (${shapeText})`);
      return d;
    });

  const count = shape.reduce((a, b) => a * b, 1);
  const start = prefix + hlen;
  const nbytes = count * info.bytes;
  if (start + nbytes > bytes.length)
    throw new Error(
      `npy: data truncated: shape (${shape.join(', ')}) needs ${nbytes} bytes, file has ${bytes.length - start}`,
    );
  const copy = bytes.slice(start, start + nbytes);
  if (!littleEndianHost()) swapInPlace(copy, info.bytes);
  return { dtype, shape, data: info.make(copy.buffer, count) };
}

function littleEndianHost(): boolean {
  return new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
}

function swapInPlace(bytes: Uint8Array, width: number): void {
  if (width === 1) return;
  for (let i = 0; i < bytes.length; i += width) bytes.subarray(i, i + width).reverse();
}
