"""A small ONNX model written by hand (protobuf wire format), so the sandbox test needs no `onnx` package
and no downloaded model: Conv -> Relu (MLAS convolution, thread pool) and MatMul (MLAS GEMM)."""

from __future__ import annotations

import numpy as np

FLOAT = 1  # TensorProto.DataType.FLOAT


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, payload: bytes | int | str) -> bytes:
    if isinstance(payload, int):
        return _varint(number << 3) + _varint(payload)
    data = payload.encode() if isinstance(payload, str) else payload
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def _tensor(name: str, array: np.ndarray) -> bytes:
    dims = b"".join(_field(1, d) for d in array.shape)
    return dims + _field(2, FLOAT) + _field(8, name) + _field(9, array.astype("<f4").tobytes())


def _value_info(name: str, shape: tuple[int, ...]) -> bytes:
    dims = b"".join(_field(1, _field(1, d)) for d in shape)
    tensor_type = _field(1, FLOAT) + _field(2, dims)
    return _field(1, name) + _field(2, _field(1, tensor_type))


def _node(op: str, inputs: list[str], outputs: list[str], attributes: bytes = b"") -> bytes:
    return b"".join(_field(1, i) for i in inputs) + b"".join(_field(2, o) for o in outputs) + _field(4, op) + attributes


def _ints_attribute(name: str, values: list[int]) -> bytes:
    return _field(5, _field(1, name) + b"".join(_field(8, v) for v in values) + _field(20, 7))  # 7: INTS


def tiny_model() -> bytes:
    rng = np.random.default_rng(7)
    conv_w = rng.standard_normal((8, 3, 3, 3)).astype(np.float32)
    gemm_w = rng.standard_normal((512, 128)).astype(np.float32)
    graph = (
        _field(1, _node("Conv", ["image", "conv_w"], ["conv"], _ints_attribute("pads", [1, 1, 1, 1])))
        + _field(1, _node("Relu", ["conv"], ["features"]))
        + _field(1, _node("MatMul", ["vector", "gemm_w"], ["embedding"]))
        + _field(2, "tiny")
        + _field(5, _tensor("conv_w", conv_w))
        + _field(5, _tensor("gemm_w", gemm_w))
        + _field(11, _value_info("image", (1, 3, 112, 112)))
        + _field(11, _value_info("vector", (1, 512)))
        + _field(12, _value_info("features", (1, 8, 112, 112)))
        + _field(12, _value_info("embedding", (1, 128)))
    )
    opset = _field(2, 13)
    return _field(1, 8) + _field(8, opset) + _field(7, graph)

