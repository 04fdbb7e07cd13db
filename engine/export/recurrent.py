"""ONNX converters for the recurrent layers (LSTM, GRU, SimpleRNN)."""
