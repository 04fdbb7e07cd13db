"""ONNX converters for pooling, normalisation and embedding layers."""
