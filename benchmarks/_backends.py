"""CPU back-ends that the benchmarks select through a child process's environment."""

# PyTorch's and oneDNN's kernels of a CPU without AVX-512 or bf16 (the budgets' back-end).
AVX2 = {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2"}
NO_VECTORS = {"ATEN_CPU_CAPABILITY": "default", "ONEDNN_MAX_CPU_ISA": "SSE41"}
# numpy picks its own kernels (ufuncs, sorts) at import from the CPU's features, apart from
# OpenBLAS and PyTorch. A feature the CPU lacks is ignored, so each runs on any x86 machine.
NUMPY_AVX2 = {"NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR"}
NUMPY_SSE = {"NPY_DISABLE_CPU_FEATURES": "X86_V3 X86_V4 AVX512_ICL AVX512_SPR"}
