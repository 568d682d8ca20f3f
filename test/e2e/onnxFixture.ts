// A tiny ONNX model written by hand (protobuf encoding), so that the packaging test can run a real
// inference through the onnxruntime-node copy inside a VSIX without any model file or Python.
// Graph: y = Neg(x), x and y float32 of shape [n].

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) { out.push((n & 0x7f) | 0x80); n >>>= 7; }
  out.push(n);
  return out;
}
function field(no: number, wire: 0 | 2, value: number | number[] | string): number[] {
  const key = varint((no << 3) | wire);
  if (wire === 0) return [...key, ...varint(value as number)];
  const bytes = typeof value === 'string' ? [...Buffer.from(value, 'utf8')] : (value as number[]);
  return [...key, ...varint(bytes.length), ...bytes];
}

function valueInfo(name: string): number[] {
  const dim = field(1, 2, field(2, 2, 'n'));                 // Dimension { dim_param = "n" }
  const shape = field(2, 2, dim);                             // TensorShapeProto { dim }
  const tensorType = field(1, 2, [...field(1, 0, 1), ...shape]); // Tensor { elem_type FLOAT, shape }
  return [...field(1, 2, name), ...field(2, 2, tensorType)];   // ValueInfoProto { name, type }
}

/** The bytes of an ONNX model computing y = -x (opset 17). */
export function negModel(): Uint8Array {
  const node = [...field(1, 2, 'x'), ...field(2, 2, 'y'), ...field(3, 2, 'neg'), ...field(4, 2, 'Neg')];
  const graph = [...field(1, 2, node), ...field(2, 2, 'g'), ...field(11, 2, valueInfo('x')), ...field(12, 2, valueInfo('y'))];
  const opset = [...field(1, 2, ''), ...field(2, 0, 17)];
  const model = [...field(1, 0, 8), ...field(2, 2, 'repo-diffusion-e2e'), ...field(7, 2, graph), ...field(8, 2, opset)];
  return Uint8Array.from(model);
}
